import CalibCore
import CalibFormats
import Foundation
internal import GRDB

/// The dtype of exported scales that are not FP8 (NVFP4) or MX exponents (MXFP4).
public enum ExportScaleDType: String, Sendable, CaseIterable {
  /// The dtype torch returned the scale in, as the run stored it: bf16 for bf16 samples
  /// in model arithmetic, float32 in float32 arithmetic.
  case stored
  /// float32: exactly the calibrated values (export → import round-trips bit for bit).
  case float32
  /// The recorded model dtype (bf16/f16/f32), as a checkpoint of that model holds them.
  case model
}

extension CalibrationStore {
  /// The final parameters of a run as compressed-tensors checkpoint tensors:
  /// - scales: FP8 E4M3 when `scale_dtype` is FP8 (NVFP4), uint8 exponents `127 + log2(s)`
  ///   for MX scales, otherwise their stored dtype, float32 or the recorded model dtype;
  /// - zero points (asymmetric only) in `zp_dtype` (int16/int32 as I32);
  /// - global scales float32 of shape [1].
  /// The metadata holds each parameter's arguments (`calib_args`) so an import restores them.
  ///
  /// - Throws: ``ExportError`` for uncalibrated activations under the `refuse` policy.
  public func exportTensors(ofRun run: String, scaleDType: ExportScaleDType = .stored, uncalibrated: UncalibratedPolicy = .refuse) throws
    -> (tensors: [RawTensor], metadata: [String: String])
  {
    let finals = try uncalibrated.resolve(try finalQParams(ofRun: run), run: run)
    let modelTypes = try modelDTypes(ofRun: run)
    var tensors: [RawTensor] = []
    var args: [String: String] = [:]
    for e in finals {
      guard let a = Self.decodeArgs(e.argsJSON) else { continue }
      args["\(e.module)/\(e.baseName.rawValue)"] = e.argsJSON
      let p = e.parameters
      if let scale = p.scale {
        let name = CheckpointParameter(module: e.module, baseName: e.baseName, kind: .scale).name
        if a.scaleDType == .float8E4M3FN {
          tensors.append(RawTensor(name: name, tensor: scale, as: .f8E4M3))
        } else if a.usesMXScales && a.scaleDType == .uint8 {
          let exponents = scale.values.map { $0 > 0 && $0.isFinite ? Float(127 + Int($0.exponent)) : ($0.isInfinite ? 255 : 0) }
          tensors.append(RawTensor(name: name, tensor: Tensor(shape: scale.shape, values: exponents), as: .u8))
        } else {
          let dtype: ElementType =
            switch scaleDType {
            case .stored: ElementType(scale.dtype)
            case .float32: .f32
            case .model: modelTypes[e.module] ?? .f32
            }
          tensors.append(RawTensor(name: name, tensor: scale, as: dtype))
        }
        if !a.symmetric, let zp = p.zeroPoint {
          let dtype: ElementType =
            switch a.zpDType {
            case .int8: .i8
            case .uint8: .u8
            case .float8E4M3FN: .f8E4M3
            case .float32: .f32
            case .float16: .f16
            case .bfloat16: .bf16
            case .float64: .f64
            default: .i32
            }
          tensors.append(RawTensor(name: CheckpointParameter(module: e.module, baseName: e.baseName, kind: .zeroPoint).name, tensor: zp, as: dtype))
        }
      }
      if let g = p.globalScale {
        tensors.append(RawTensor(
          name: CheckpointParameter(module: e.module, baseName: e.baseName, kind: .globalScale).name,
          tensor: Tensor(shape: [1], values: [g]), as: .f32))
      }
    }
    let argsJSON = String(decoding: try JSONSerialization.data(withJSONObject: args, options: [.sortedKeys]), as: UTF8.self)
    return (tensors, ["format": "pt", "calib_run": run, "calib_args": argsJSON])
  }

  /// The recorded dtype of each module's weight (else its first activation sample).
  private func modelDTypes(ofRun run: String) throws -> [String: ElementType] {
    try pool.read { db in
      let record = try requireRun(db, named: run)
      guard let recording = record.recordingID else { return [:] }
      var types: [String: ElementType] = [:]
      for s in try fetchSamples(db, recordingID: recording) where s.dtype.isFloatingPoint && s.dtype != .f8E4M3 {
        if s.baseName == .weight || types[s.module] == nil { types[s.module] = s.dtype }
      }
      return types
    }
  }
}
