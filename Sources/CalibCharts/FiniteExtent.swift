/// The smallest and largest finite values of `values`, or (0, 1) when there are none, so a
/// chart of empty, NaN-only or infinite data still gets a drawable domain.
func finiteExtent(_ values: some Sequence<Double>) -> (lower: Double, upper: Double) {
  var lo = Double.infinity
  var hi = -Double.infinity
  for v in values where v.isFinite {
    lo = min(lo, v)
    hi = max(hi, v)
  }
  return lo > hi ? (0, 1) : (lo, hi)
}
