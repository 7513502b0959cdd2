/// The NVFP4 global scale (compressed-tensors 0.14 `generate_gparam`).
public enum GlobalScale {
  /// `448 · 6 / max(|min(mn, 0)|, max(mx, 0))`, computed in the ranges' dtype D and
  /// returned as float32 (the reference's `.to(torch.float32)`), so that the largest group
  /// scale lands on FP8's largest value.
  ///
  /// torch evaluates `python_scalar / tensor` as `tensor.reciprocal() * scalar`, so this is
  /// `r(r(1 / amax) · 2688)`, where `r` rounds to D (nothing for float32). Even in float32
  /// that can differ from the correctly rounded quotient in the last bit; in bf16 the two
  /// roundings make it coarser still.
  ///
  /// compressed-tensors 0.14 has no guard: an all-zero range gives +∞ and an infinite one
  /// gives 0, which the caller sees as a non-finite global scale.
  public static func generate(min mn: Float, max mx: Float, dtype: FloatDType = .float32) -> Float {
    generate(magnitude: propagatingMax(propagatingMin(mn, 0).magnitude, propagatingMax(mx, 0).magnitude), dtype: dtype)
  }

  /// ``generate(min:max:dtype:)`` from the range's largest magnitude `amax`, `max |x|`
  /// over the tensor.
  public static func generate(magnitude amax: Float, dtype: FloatDType = .float32) -> Float {
    let reciprocal = dtype.rounded(1 / amax)
    return dtype.rounded(reciprocal * (Float8E4M3.greatestFiniteMagnitude * Float4E2M1.greatestFiniteMagnitude))
  }
}
