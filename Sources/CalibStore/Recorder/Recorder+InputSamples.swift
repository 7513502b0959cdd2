import CalibCore
import CalibFormats
import CalibLifecycle

extension Recorder {
  /// imatrix_mse's inputs for a module: every finite `<module>.input` sample of the step
  /// files, in step order, read before the weight phase (the source observes weights
  /// after the forward passes its hook watched).
  ///
  /// - Throws: ``ImportanceInputError/noInputSamples(module:run:)`` when there are none.
  static func inputSamples(of module: String, inputs: RecordingInputs, arithmetic: Arithmetic, run: String) throws
    -> [Tensor]
  {
    let samples = try inputs.steps.flatMap { step in
      try step.samples.filter { $0.module == module && $0.baseName == .input }.map { sample in
        var x = try inputs.stepFiles[sample.file].tensor(sample.entry.name)
        x.dtype = arithmetic.dtype(forSamplesOf: sample.entry.dtype.modelDType)
        return x
      }
    }.filter { $0.values.allSatisfy(\.isFinite) }
    if samples.isEmpty { throw ImportanceInputError.noInputSamples(module: module, run: run) }
    return samples
  }
}
