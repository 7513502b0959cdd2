import CalibCharts
import CalibCore
import CalibStore
import Foundation

/// Renders a ``ReportModel`` as one self-contained HTML page: inline CSS, inline SVG and a
/// short inline script for sorting and filtering; a Content-Security-Policy that forbids
/// every fetch. The text depends only on the model, so the same store and arguments give
/// the same bytes.
enum ReportPage {
  static let chartFrame = ChartFrame(width: 300, height: 160, left: 52)

  static func render(_ model: ReportModel) -> String {
    var html = """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8">
      <meta http-equiv="Content-Security-Policy" content="\(contentSecurityPolicy)">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <title>calib report: \(e(model.runs.map(\.summary.name).joined(separator: ", ")))</title>
      <style>\(ChartStyle.stylesheet)\(pageStyle)\(swatchStyle)</style>
      </head><body>

      """
    html += header(model)
    html += heatmap(model)
    html += flags(model)
    html += "<section id=\"details\"><h2>Per-module detail</h2>\n"
    for (i, pair) in model.pairs.enumerated() { html += detail(pair, index: i, model: model) }
    html += "</section>\n<script>\(script)</script>\n</body></html>\n"
    return html
  }

  /// No fetch of any kind (`default-src 'none'`); only the page's own inline style and script.
  static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

  static func e(_ s: String) -> String { SVGText.escaped(s) }

  static func swatch(_ i: Int) -> String { "<span class=\"sw c\(i % ChartPalette.series.count)\"></span>" }

  // MARK: - Header

  static func header(_ model: ReportModel) -> String {
    var s = "<header id=\"summary\"><h1>calib report</h1>\n<p>Store <code>\(e(model.store))</code>: "
    s += "\(model.runs.count) run(s), \(model.pairs.count) module/base pair(s).</p>\n"
    s += "<table class=\"runs\"><thead><tr><th>run</th><th>kind</th><th>parent</th><th>arithmetic</th>"
    s += "<th>recipe differences</th><th>created</th></tr></thead><tbody>\n"
    for (i, r) in model.runs.enumerated() {
      let diff = r.differences.isEmpty ? "-" : r.differences.joined(separator: "; ")
      s += "<tr data-run=\"\(e(r.summary.name))\"><td>\(swatch(i))\(e(r.summary.name))</td><td>\(r.summary.kind.rawValue)</td>"
      s += "<td>\(e(r.summary.parent ?? "-"))</td><td>\(r.summary.arithmetic.rawValue)</td>"
      s += "<td class=\"diff\">\(e(diff))</td><td>\(e(r.summary.createdAt))</td></tr>\n"
    }
    return s + "</tbody></table></header>\n"
  }

  // MARK: - Heatmap

  static func heatmap(_ model: ReportModel) -> String {
    let names = model.runs.map(\.summary.name)
    let rows = model.pairs.enumerated().map { i, p -> Heatmap.Row in
      let winner = p.ranking.first.flatMap { w in
        names.firstIndex(of: w).flatMap { p.sides[$0]?.error?.sqnr.isNaN == false ? w : nil }
      }
      let cells = names.enumerated().map { j, run -> Heatmap.Cell in
        var attributes = [("data-module", p.module), ("data-base-name", p.baseName.rawValue), ("data-run", run)]
        guard let error = p.sides[j]?.error else {
          attributes.append(("data-sqnr", ""))
          return Heatmap.Cell(value: nil, text: p.sides[j] == nil ? "absent" : "-", attributes: attributes)
        }
        attributes.append(("data-sqnr", ReportMetrics.sqnrText(error.sqnr)))
        if run == winner { attributes.append(("data-winner", "true")) }
        return Heatmap.Cell(value: error.sqnr, text: ReportMetrics.decibelsText(error.sqnr), marked: run == winner, attributes: attributes)
      }
      return Heatmap.Row(
        label: shortName(p) + " · " + p.baseName.rawValue, group: p.group, link: "#p-\(i)",
        attributes: [("data-module", p.module), ("data-base-name", p.baseName.rawValue)], cells: cells)
    }
    let map = Heatmap(columns: names, rows: rows)
    var s = "<section id=\"heatmap\"><h2>SQNR by module and run</h2>\n"
    s += "<p class=\"note\">SQNR in dB of each run's final parameters on the same stored samples, as "
    s += "<code>calib rank</code> computes it (higher is better); the outlined cell is the module's winner. "
    s += "Grey: not measured (no samples or no parameters).</p>\n<div class=\"controls\">"
    s += "<label>base name <select id=\"base-filter\"><option value=\"\">all</option>"
    for b in BaseName.allCases where model.pairs.contains(where: { $0.baseName == b }) {
      s += "<option>\(b.rawValue)</option>"
    }
    s += "</select></label> <label>module contains <input id=\"module-filter\" size=\"24\"></label> "
    s += "<label>sort <select id=\"sort-by\"><option value=\"\">by layer</option>"
    for (i, n) in names.enumerated() { s += "<option value=\"\(i)\">SQNR of \(e(n)), worst first</option>" }
    s += "</select></label>"
    if let range = map.valueRange {
      s += " <span class=\"legend\">\(ReportMetrics.decibelsText(range.lowerBound)) dB <span class=\"ramp\"></span> \(ReportMetrics.decibelsText(range.upperBound)) dB</span>"
    }
    s += "</div>\n<div class=\"scroll\">" + map.svg() + "</div></section>\n"
    return s
  }

  /// The module name without its layer prefix (the heatmap shows the layer as a group).
  static func shortName(_ p: ReportModel.Pair) -> String {
    p.module.hasPrefix(p.group + ".") ? String(p.module.dropFirst(p.group.count + 1)) : p.module
  }

  // MARK: - Flags

  static func flags(_ model: ReportModel) -> String {
    let names = model.runs.map(\.summary.name)
    var uncalibrated: [String] = []
    var nonFinite: [String] = []
    var differing: [String] = []
    for (i, p) in model.pairs.enumerated() {
      let link = "<a href=\"#p-\(i)\">\(e(p.module)) · \(p.baseName.rawValue)</a>"
      let runs = names.indices.filter { p.sides[$0].map { !$0.calibrated } ?? false }.map { names[$0] }
      if !runs.isEmpty { uncalibrated.append("\(link): \(e(runs.joined(separator: ", ")))") }
      if p.nonFiniteSamples > 0 {
        nonFinite.append("\(link): \(p.nonFiniteSamples) sample(s) with NaN or ±inf skipped (of \(p.sampleCount + p.nonFiniteSamples))")
      }
      let over = names.indices.dropFirst().compactMap { j -> String? in
        guard let d = p.scaleDifference[j], d > model.rtol else { return nil }
        return "\(e(names[j])) (\(ReportMetrics.numberText(d)))"
      }
      if !over.isEmpty { differing.append("\(link): \(over.joined(separator: ", "))") }
    }
    func list(_ id: String, _ title: String, _ items: [String]) -> String {
      var s = "<div class=\"flag\" id=\"\(id)\"><h3>\(title) (\(items.count))</h3>"
      s += items.isEmpty ? "<p class=\"none\">none</p>" : "<ul>" + items.map { "<li>\($0)</li>" }.joined() + "</ul>"
      return s + "</div>\n"
    }
    var s = "<section id=\"flags\"><h2>Flags</h2>\n"
    s += list("flag-uncalibrated", "Uncalibrated: activations whose observer received no samples", uncalibrated)
    s += list("flag-nonfinite", "Non-finite samples skipped by observers and metrics", nonFinite)
    let first = names.first.map(e) ?? "-"
    s += list(
      "flag-scales", "Scales differing from \(first)'s by more than --rtol \(ReportMetrics.numberText(model.rtol)) (max relative difference)",
      differing)
    return s + "</section>\n"
  }

  // MARK: - Detail

  static func detail(_ p: ReportModel.Pair, index: Int, model: ReportModel) -> String {
    let names = model.runs.map(\.summary.name)
    var s = "<section class=\"pair\" id=\"p-\(index)\" data-module=\"\(e(p.module))\" data-base-name=\"\(p.baseName.rawValue)\">"
    s += "<h3>\(e(p.module)) · \(p.baseName.rawValue)</h3><p class=\"note\">"
    if let from = p.samplesFrom {
      s += "\(p.sampleCount) sample(s) from \(e(from))'s recording"
      if p.nonFiniteSamples > 0 { s += ", \(p.nonFiniteSamples) non-finite skipped" }
    } else {
      s += "no stored samples"
    }
    s += "</p>\n<table class=\"sides\"><tr><th>run</th><th>observer</th><th>scale shape</th><th>scale min</th>"
    s += "<th>scale mean</th><th>scale max</th><th>clipping range</th><th>SQNR dB</th></tr>"
    for (i, side) in p.sides.enumerated() {
      s += "<tr><td>\(swatch(i))\(e(names[i]))</td>"
      guard let side else {
        s += "<td colspan=\"7\">no parameters</td></tr>"
        continue
      }
      let v = side.scale?.values ?? []
      let finite = v.filter(\.isFinite)
      let lo = finite.min().map { ReportMetrics.numberText(Double($0)) } ?? "-"
      let hi = finite.max().map { ReportMetrics.numberText(Double($0)) } ?? "-"
      s += "<td>\(e(side.observer ?? "-"))\(side.calibrated ? "" : " (uncalibrated)")</td>"
      s += "<td>\(side.scale.map { "\($0.shape)" } ?? "-")</td><td>\(lo)</td>"
      s += "<td>\(v.isEmpty ? "-" : ReportMetrics.numberText(ReportModel.mean(v)))</td><td>\(hi)</td>"
      s += "<td>\(side.clipping.map { "[\(ReportMetrics.numberText($0.lower)), \(ReportMetrics.numberText($0.upper))]" } ?? "-")</td>"
      s += "<td>\(ReportMetrics.decibelsText(side.error?.sqnr))</td></tr>"
    }
    s += "</table>\n<div class=\"charts\">"
    s += scaleHistogram(p, names: names) + scaleRatio(p, names: names) + trajectories(p, names: names)
    s += sampleHistogram(p, names: names)
    return s + "</div></section>\n"
  }

  /// Every run's scale values, binned over their common range.
  static func scaleHistogram(_ p: ReportModel.Pair, names: [String]) -> String {
    let all = p.sides.flatMap { $0?.scale?.values ?? [] }.map(Double.init)
    guard !all.isEmpty else { return "" }
    let probe = HistogramBins(fitting: all, binCount: 30)
    let series = p.sides.enumerated().compactMap { i, side -> HistogramChart.Series? in
      guard let values = side?.scale?.values else { return nil }
      var bins = HistogramBins(lowerBound: probe.lowerBound, upperBound: probe.upperBound, binCount: 30)
      for v in values { bins.add(Double(v)) }
      return .init(label: names[i], bins: bins, colorIndex: i)
    }
    return HistogramChart(title: "scale values", series: series, xTitle: "scale", frame: chartFrame).svg()
  }

  /// Each later run's scales divided by the first run's, by element (channel or group);
  /// more than 96 elements are drawn as 48 buckets' lowest and highest ratios, which keeps
  /// outliers visible at a fixed size per chart.
  static func scaleRatio(_ p: ReportModel.Pair, names: [String]) -> String {
    guard names.count > 1, let first = p.sides.first??.scale else { return "" }
    var series: [LineChart.Series] = []
    for (i, side) in p.sides.enumerated().dropFirst() {
      guard let scale = side?.scale, scale.shape == first.shape else { continue }
      let ratios = zip(scale.values, first.values).map { b, a in a != 0 ? Double(b) / Double(a) : .nan }
      series.append(.init(label: "\(names[i]) ÷ \(names[0])", points: envelope(ratios, limit: 96), colorIndex: i))
    }
    guard !series.isEmpty else { return "" }
    return LineChart(title: "scale ÷ \(names[0])'s", series: series, xTitle: "element", integerX: true, frame: chartFrame).svg()
  }

  static func envelope(_ values: [Double], limit: Int) -> [(x: Double, y: Double)] {
    guard values.count > limit else { return values.enumerated().map { (Double($0.offset), $0.element) } }
    let buckets = limit / 2
    var out: [(x: Double, y: Double)] = []
    for b in 0..<buckets {
      let lo = b * values.count / buckets
      let hi = (b + 1) * values.count / buckets
      let finite = values[lo..<hi].filter(\.isFinite)
      let x = Double(lo + hi - 1) / 2
      guard let mn = finite.min(), let mx = finite.max() else {
        out.append((x, .nan))
        continue
      }
      out.append((x, mn))
      out.append((x, mx))
    }
    return out
  }

  /// Running min/max and scale after each step (activation observers only).
  static func trajectories(_ p: ReportModel.Pair, names: [String]) -> String {
    guard p.baseName != .weight, p.sides.contains(where: { !($0?.steps.isEmpty ?? true) }) else { return "" }
    var range: [LineChart.Series] = []
    var scale: [LineChart.Series] = []
    for (i, side) in p.sides.enumerated() {
      guard let steps = side?.steps, !steps.isEmpty else { continue }
      range.append(.init(label: "\(names[i]) max", points: steps.map { (Double($0.step), $0.max) }, colorIndex: i))
      range.append(.init(label: "\(names[i]) min", points: steps.map { (Double($0.step), $0.min) }, colorIndex: i, dashed: true))
      scale.append(.init(label: names[i], points: steps.map { (Double($0.step), $0.scale) }, colorIndex: i))
    }
    return LineChart(title: "running min (dashed) / max per step", series: range, xTitle: "step", integerX: true, frame: chartFrame).svg()
      + LineChart(title: "scale per step (mean)", series: scale, xTitle: "step", integerX: true, frame: chartFrame).svg()
  }

  /// The stored sample values (log counts) with each run's clipping range.
  static func sampleHistogram(_ p: ReportModel.Pair, names: [String]) -> String {
    guard let bins = p.sampleHistogram else { return "" }
    var markers: [HistogramChart.Marker] = []
    for (i, side) in p.sides.enumerated() {
      guard let c = side?.clipping else { continue }
      markers.append(.init(value: c.lower, label: "\(names[i]) clipping min \(ReportMetrics.numberText(c.lower))", colorIndex: i))
      markers.append(.init(value: c.upper, label: "\(names[i]) clipping max \(ReportMetrics.numberText(c.upper))", colorIndex: i))
    }
    let frame = ChartFrame(width: 420, height: 160, left: 52)
    return HistogramChart(
      title: "sample values (log count) and clipping ranges", series: [.init(label: "samples", bins: bins, colorIndex: 6)],
      markers: markers, logCounts: true, xTitle: "value", frame: frame
    ).svg()
  }

  // MARK: - Style and script

  /// `.c0` … `.c7`: the series colours as swatch backgrounds.
  static var swatchStyle: String {
    ChartPalette.series.enumerated().map { ".sw.c\($0.offset){background:\($0.element)}" }.joined() + "\n"
  }

  static let pageStyle = """
    body{font:13px system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
    h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px}h3{font-size:13px;margin:10px 0 4px}
    table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
    td.diff{max-width:640px;font-family:monospace;font-size:11px}
    .runs td:first-child,.runs td:last-child,.sides td{white-space:nowrap}
    .sw{display:inline-block;width:10px;height:10px;margin-right:5px;border-radius:2px}
    .note{color:#555;margin:2px 0 6px}.none{color:#777}
    .controls{margin:6px 0}.controls label{margin-right:10px}
    .ramp{display:inline-block;width:120px;height:10px;vertical-align:middle;background:linear-gradient(90deg,#440154,#3b528b,#21918c,#5ec962,#fde725)}
    .scroll{overflow-x:auto}
    .heatmap a text{fill:#0645ad}
    section.pair{background:#fff;border:1px solid #e3e3e3;border-radius:4px;padding:6px 10px;margin:8px 0}
    .charts{display:flex;flex-wrap:wrap;gap:4px}
    .flag ul{margin:2px 0 8px}
    """

  /// Filters heatmap rows and detail sections by base name and module text, and sorts
  /// rows within their layer by a run's SQNR; then re-places rows and group headers. The
  /// controls start from the URL fragment when it names them
  /// (`report.html#base=input&module=dense&sort=0`, sort being a run's column index).
  static let script = """
    (function(){
    var svg=document.querySelector('svg.heatmap');
    if(svg){
    var body=svg.querySelector('.hm-body'),rh=+svg.dataset.rowHeight,hh=+svg.dataset.headerHeight;
    var rows=[].slice.call(body.querySelectorAll('.hm-row')),heads=[].slice.call(body.querySelectorAll('.hm-grp'));
    var base=document.getElementById('base-filter'),text=document.getElementById('module-filter'),sort=document.getElementById('sort-by');
    rows.forEach(function(r,i){r.dataset.order=i;});
    function sqnr(r,c){var cell=r.querySelectorAll('.hm-cell')[c],v=parseFloat(cell&&cell.dataset.sqnr);return isNaN(v)?Infinity:v;}
    function show(r){return(!base.value||r.dataset.baseName===base.value)&&(!text.value||r.dataset.module.indexOf(text.value)>=0);}
    function layout(){
    var y=hh,c=sort.value;
    heads.forEach(function(h){h.style.display='none';});
    var groups={},order=[];
    rows.forEach(function(r){var g=r.dataset.group;if(!groups[g]){groups[g]=[];order.push(g);}groups[g].push(r);});
    order.forEach(function(g){
    var list=groups[g].filter(function(r){var v=show(r);r.style.display=v?'':'none';return v;});
    list.sort(function(a,b){return c===''?a.dataset.order-b.dataset.order:(sqnr(a,+c)-sqnr(b,+c))||(a.dataset.order-b.dataset.order);});
    if(!list.length)return;
    var h=heads.filter(function(x){return x.dataset.group===g;})[0];
    if(h){h.style.display='';h.setAttribute('transform','translate(0,'+y+')');y+=rh;}
    list.forEach(function(r){body.appendChild(r);r.setAttribute('transform','translate(0,'+y+')');y+=rh;});});
    svg.setAttribute('height',y+2);var vb=svg.getAttribute('viewBox').split(' ');vb[3]=y+2;svg.setAttribute('viewBox',vb.join(' '));
    [].forEach.call(document.querySelectorAll('section.pair'),function(s){s.style.display=show(s)?'':'none';});}
    base.onchange=layout;sort.onchange=layout;text.oninput=layout;
    var q={};location.hash.slice(1).split('&').forEach(function(kv){var i=kv.indexOf('=');if(i>0)q[kv.slice(0,i)]=decodeURIComponent(kv.slice(i+1));});
    if(q.base!==undefined)base.value=q.base;if(q.module!==undefined)text.value=q.module;if(q.sort!==undefined)sort.value=q.sort;
    if(q.base!==undefined||q.module!==undefined||q.sort!==undefined)layout();}
    document.body.setAttribute('data-script','ok');
    })();
    """
}
