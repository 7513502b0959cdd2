import CalibCore

extension ElementType {
  /// Decodes little-endian elements of this type to float32, one value per element.
  ///
  /// Floating-point formats widen exactly, except `F64`, which rounds to the nearest float32;
  /// integers convert to the nearest float32; `BOOL` gives 1 for any non-zero byte and 0
  /// otherwise. Trailing bytes that do not form a whole element are ignored. Loads are
  /// unaligned-safe, so `bytes` may start anywhere.
  public func decode(_ bytes: UnsafeRawBufferPointer) -> [Float] {
    decode(bytes, bigEndian: false)
  }

  /// Decodes a little-endian byte array of this type to float32 (see `decode(_:)`).
  public func decode(_ bytes: [UInt8]) -> [Float] {
    bytes.withUnsafeBytes { decode($0, bigEndian: false) }
  }

  /// Encodes float32 values as little-endian elements of this type.
  ///
  /// Floating-point formats round to nearest, ties to even (`F8_E4M3` saturates at ±448);
  /// integers round to nearest, ties to even, clamp to the type's range and map NaN to 0;
  /// `BOOL` stores 1 for any non-zero value (NaN included) and 0 for ±0.
  public func encode(_ values: [Float]) -> [UInt8] {
    let width = byteWidth
    let count = values.count
    return [UInt8](unsafeUninitializedCapacity: count * width) { buffer, initialized in
      let raw = UnsafeMutableRawBufferPointer(buffer)
      for i in 0..<count {
        let x = values[i]
        let offset = i &* width
        switch self {
        case .f32:
          raw.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: offset, as: UInt32.self)
        case .f16:
          let bits = FloatConversion.half(from: x)
          raw.storeBytes(of: bits.littleEndian, toByteOffset: offset, as: UInt16.self)
        case .bf16:
          let bits = FloatConversion.bfloat16(from: x)
          raw.storeBytes(of: bits.littleEndian, toByteOffset: offset, as: UInt16.self)
        case .f64:
          let bits = Double(x).bitPattern
          raw.storeBytes(of: bits.littleEndian, toByteOffset: offset, as: UInt64.self)
        case .i8:
          raw[offset] = UInt8(bitPattern: Self.clamped(x, as: Int8.self))
        case .u8:
          raw[offset] = Self.clamped(x, as: UInt8.self)
        case .i32:
          let v = Self.clamped(x, as: Int32.self)
          raw.storeBytes(of: v.littleEndian, toByteOffset: offset, as: Int32.self)
        case .i64:
          let v = Self.clamped(x, as: Int64.self)
          raw.storeBytes(of: v.littleEndian, toByteOffset: offset, as: Int64.self)
        case .f8E4M3:
          // Saturate like round_to_quantized_type_dtype (a raw E4M3FN cast would give NaN).
          raw[offset] = Float8E4M3.encode(x.isNaN ? x : min(max(x, -448), 448))
        case .bool:
          raw[offset] = x == 0 ? 0 : 1
        }
      }
      initialized = count * width
    }
  }

  /// Decodes elements in either byte order (big-endian is only needed for `.npy` files).
  func decode(_ bytes: UnsafeRawBufferPointer, bigEndian: Bool) -> [Float] {
    switch self {
    case .bf16 where !bigEndian:
      return Self.decodeBFloat16(bytes)
    case .f16 where !bigEndian:
      return Self.decodeHalf(bytes)
    case .f32:
      return Self.map(bytes, UInt32.self, bigEndian) { Float(bitPattern: $0) }
    case .f16:
      return Self.map(bytes, UInt16.self, bigEndian) { FloatConversion.float(fromHalf: $0) }
    case .bf16:
      return Self.map(bytes, UInt16.self, bigEndian) { FloatConversion.float(fromBFloat16: $0) }
    case .f64:
      return Self.map(bytes, UInt64.self, bigEndian) { Float(Double(bitPattern: $0)) }
    case .i8:
      return Self.map(bytes, Int8.self, bigEndian) { Float($0) }
    case .u8:
      return Self.map(bytes, UInt8.self, bigEndian) { Float($0) }
    case .i32:
      return Self.map(bytes, Int32.self, bigEndian) { Float($0) }
    case .i64:
      return Self.map(bytes, Int64.self, bigEndian) { Float($0) }
    case .f8E4M3:
      return Self.map(bytes, UInt8.self, bigEndian) { Float8E4M3.decode($0) }
    case .bool:
      return Self.map(bytes, UInt8.self, bigEndian) { $0 == 0 ? 0 : 1 }
    }
  }

  /// Decodes little-endian elements straight into `out` (as many as both hold), so large
  /// samples can be decoded chunk by chunk without an intermediate array.
  public func decode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>) {
    let count = Swift.min(out.count, bytes.count / byteWidth)
    switch self {
    case .bf16:
      var i = 0
      #if _endian(little)
        // 16 elements per step: widen to 32 bits and shift into the high half.
        if let src = bytes.baseAddress, let dst = out.baseAddress {
          let target = UnsafeMutableRawPointer(dst)
          while i &+ 16 <= count {
            let bits = src.loadUnaligned(fromByteOffset: i &* 2, as: SIMD16<UInt16>.self)
            target.storeBytes(of: SIMD16<UInt32>(truncatingIfNeeded: bits) &<< 16, toByteOffset: i &* 4, as: SIMD16<UInt32>.self)
            i &+= 16
          }
        }
      #endif
      while i < count {
        let bits = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
        out[i] = Float(bitPattern: UInt32(bits) &<< 16)
        i &+= 1
      }
    case .f16:
      for i in 0..<count {
        let bits = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
        out[i] = FloatConversion.float(fromHalf: bits)
      }
    case .f32:
      for i in 0..<count {
        out[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self)))
      }
    default:
      let values = decode(bytes, bigEndian: false)
      for i in 0..<count { out[i] = values[i] }
    }
  }

  /// The hot loop for bf16 samples: one unaligned 16-bit load and a shift per element.
  private static func decodeBFloat16(_ bytes: UnsafeRawBufferPointer) -> [Float] {
    [Float](unsafeUninitializedCapacity: bytes.count / 2) { buffer, initialized in
      ElementType.bf16.decode(bytes, into: buffer)
      initialized = bytes.count / 2
    }
  }

  /// The hot loop for f16 samples: one unaligned 16-bit load and an exact widening each.
  private static func decodeHalf(_ bytes: UnsafeRawBufferPointer) -> [Float] {
    [Float](unsafeUninitializedCapacity: bytes.count / 2) { buffer, initialized in
      ElementType.f16.decode(bytes, into: buffer)
      initialized = bytes.count / 2
    }
  }

  /// Loads every whole element of type `T` in the given byte order and maps it to float32.
  @inline(__always)
  private static func map<T: FixedWidthInteger>(
    _ bytes: UnsafeRawBufferPointer, _ type: T.Type, _ bigEndian: Bool,
    _ transform: (T) -> Float
  ) -> [Float] {
    let width = MemoryLayout<T>.size
    let count = bytes.count / width
    return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      for i in 0..<count {
        let raw = bytes.loadUnaligned(fromByteOffset: i &* width, as: T.self)
        buffer[i] = transform(bigEndian ? T(bigEndian: raw) : T(littleEndian: raw))
      }
      initialized = count
    }
  }

  /// Rounds to nearest, ties to even, and clamps into the range of `T`; NaN becomes 0.
  private static func clamped<T: FixedWidthInteger>(_ x: Float, as type: T.Type) -> T {
    if x.isNaN { return 0 }
    let r = x.rounded(.toNearestOrEven)
    // Float(T.max) may round up to a power of two; anything at or above it saturates.
    if r <= Float(T.min) { return T.min }
    if r >= Float(T.max) { return T.max }
    return T(r)
  }
}
