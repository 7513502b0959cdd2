import CalibCore
import CalibLifecycle

extension CalibrationPlan {
  /// Builds a plan from a recipe's resolution of the known modules.
  ///
  /// - Throws: ``RecipeError`` for targets that match nothing or twice, ``PlanError``
  ///   for samples the schemes cannot use.
  init(
    recipe: Recipe, modules known: [(name: String, type: String?)], weightShapes: [String: [Int]],
    sampleShapes: [String: [BaseName: [Int]]]
  ) throws {
    try self.init(
      schemes: try recipe.schemes(for: known),
      types: Dictionary(known.compactMap { m in m.type.map { (m.name, $0) } }, uniquingKeysWith: { a, _ in a }),
      weightShapes: weightShapes, sampleShapes: sampleShapes)
  }

  /// Builds the plan for a recording's input files.
  init(recipe: Recipe, inputs: RecordingInputs) throws {
    var sampleShapes: [String: [BaseName: [Int]]] = [:]
    for step in inputs.steps {
      for s in step.samples where sampleShapes[s.module]?[s.baseName] == nil {
        sampleShapes[s.module, default: [:]][s.baseName] = s.entry.shape
      }
    }
    try self.init(
      recipe: recipe, modules: inputs.modules, weightShapes: inputs.weights.mapValues(\.entry.shape),
      sampleShapes: sampleShapes)
  }
}
