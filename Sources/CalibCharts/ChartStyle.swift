/// The CSS that the chart builders' class names expect; a page includes it once.
public enum ChartStyle {
  /// Rules for `.chart`, `.ax`, `.heatmap` and their parts.
  public static let stylesheet = """
    svg.chart{background:#fff;margin:2px}
    svg text{font:10px system-ui,sans-serif;fill:#222}
    svg .ttl{font-weight:600}
    .ax path{fill:none;stroke:#888;stroke-width:1}
    .ax .axt{fill:#555;text-anchor:end}
    .xa text{text-anchor:middle}.ya text{text-anchor:end}
    .nodata{fill:#999;font-style:italic}
    path.bars{opacity:.85}
    path.step,path.ln{fill:none;stroke-width:1.5}
    path.dash{stroke-dasharray:4 3}
    path.mark{stroke-width:1.5;stroke-dasharray:2 2}
    .heatmap text{font-size:11px}
    .heatmap .on-dark{fill:#fff}
    .heatmap .hm-grp text{font-weight:600}
    .heatmap .hm-cell.win rect{stroke:#000;stroke-width:2.5}
    .heatmap .hm-cell.win text{font-weight:700}
    """
}
