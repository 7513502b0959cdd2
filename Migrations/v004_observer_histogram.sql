-- CalibStore schema v004: histogram-based observers (onnxruntime's percentile, entropy
-- and distribution calibrators) keep a running histogram per step, so that a recording
-- resumes from it and `show --steps` reports it. NULL for every other observer.

-- The histogram as one little-endian blob: "CHST", version byte, threshold flag byte,
-- UInt32 bin and edge counts, Float32 minimum, maximum and threshold, Int64 counts,
-- Float32 edges
-- (CalibrationHistogram.encoded()). Int64 counts do not fit the Float32 tensor columns.
ALTER TABLE observerState ADD COLUMN histogram BLOB;
