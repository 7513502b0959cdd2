import Foundation

/// The pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's `--screenshot`
/// writes), decoded with the system's zlib (loaded at run time, so the package needs no
/// zlib module) and the five PNG row filters.
struct PNGPixels {
  var width: Int
  var height: Int
  /// RGB triples packed as `r << 16 | g << 8 | b`, row-major (alpha ignored).
  var pixels: [UInt32]

  enum DecodeError: Error, CustomStringConvertible {
    case notPNG, unsupported(String), zlib(String)
    var description: String {
      switch self {
      case .notPNG: "not a PNG file"
      case .unsupported(let what): "unsupported PNG: \(what)"
      case .zlib(let why): "zlib: \(why)"
      }
    }
  }

  init(data: [UInt8]) throws {
    guard data.count > 8, data.prefix(8).elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw DecodeError.notPNG }
    func u32(_ at: Int) -> Int { data[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
    var at = 8
    var header: [UInt8] = []
    var compressed: [UInt8] = []
    while at + 12 <= data.count {
      let length = u32(at)
      let type = String(decoding: data[at + 4..<at + 8], as: UTF8.self)
      guard at + 12 + length <= data.count else { throw DecodeError.notPNG }
      let body = data[at + 8..<at + 8 + length]
      if type == "IHDR" { header = Array(body) }
      if type == "IDAT" { compressed += body }
      if type == "IEND" { break }
      at += 12 + length
    }
    guard header.count == 13 else { throw DecodeError.notPNG }
    width = header[0..<4].reduce(0) { $0 << 8 | Int($1) }
    height = header[4..<8].reduce(0) { $0 << 8 | Int($1) }
    let (depth, color, interlace) = (header[8], header[9], header[12])
    guard depth == 8, color == 2 || color == 6, interlace == 0 else {
      throw DecodeError.unsupported("bit depth \(depth), colour type \(color), interlace \(interlace)")
    }
    let bpp = color == 6 ? 4 : 3
    let stride = width * bpp
    var raw = [UInt8](repeating: 0, count: height * (stride + 1))
    try Self.inflate(compressed, into: &raw)
    var previous = [UInt8](repeating: 0, count: stride)
    var row = [UInt8](repeating: 0, count: stride)
    pixels = []
    pixels.reserveCapacity(width * height)
    for y in 0..<height {
      let base = y * (stride + 1)
      let filter = raw[base]
      for i in 0..<stride {
        let x = raw[base + 1 + i]
        let a = i >= bpp ? Int(row[i - bpp]) : 0
        let b = Int(previous[i])
        let c = i >= bpp ? Int(previous[i - bpp]) : 0
        let predictor: Int
        switch filter {
        case 0: predictor = 0
        case 1: predictor = a
        case 2: predictor = b
        case 3: predictor = (a + b) / 2
        case 4:
          let p = a + b - c
          let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
          predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
        default: throw DecodeError.unsupported("row filter \(filter)")
        }
        row[i] = UInt8(truncatingIfNeeded: Int(x) + predictor)
      }
      for px in 0..<width {
        let o = px * bpp
        pixels.append(UInt32(row[o]) << 16 | UInt32(row[o + 1]) << 8 | UInt32(row[o + 2]))
      }
      swap(&previous, &row)
    }
  }

  /// zlib's `uncompress`, looked up in libz at run time.
  static func inflate(_ source: [UInt8], into destination: inout [UInt8]) throws {
    guard let library = dlopen("libz.so.1", RTLD_NOW) ?? dlopen("libz.so", RTLD_NOW) else { throw DecodeError.zlib("libz.so.1 not found") }
    defer { dlclose(library) }
    guard let symbol = dlsym(library, "uncompress") else { throw DecodeError.zlib("no uncompress symbol") }
    typealias Uncompress = @convention(c) (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt>?, UnsafePointer<UInt8>?, UInt) -> Int32
    let uncompress = unsafeBitCast(symbol, to: Uncompress.self)
    var length = UInt(destination.count)
    let status = destination.withUnsafeMutableBufferPointer { out in
      source.withUnsafeBufferPointer { uncompress(out.baseAddress, &length, $0.baseAddress, UInt($0.count)) }
    }
    guard status == 0, length == UInt(destination.count) else { throw DecodeError.zlib("status \(status), \(length) of \(destination.count) bytes") }
  }

  /// How many distinct colours the image has.
  var distinctColors: Int { Set(pixels).count }

  /// The share of pixels that differ from the most common colour (the background).
  var nonBackgroundFraction: Double {
    var counts: [UInt32: Int] = [:]
    for p in pixels { counts[p, default: 0] += 1 }
    let background = counts.values.max() ?? 0
    return pixels.isEmpty ? 0 : Double(pixels.count - background) / Double(pixels.count)
  }
}
