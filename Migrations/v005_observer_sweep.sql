-- CalibStore schema v005: nvidia-modelopt's MSE sweep (modelopt_mse_sweep) keeps the
-- initial amax and the summed loss of every candidate multiplier per step, so that a
-- recording resumes from them and `show --steps` reports them. NULL for every other
-- observer.

-- The state as one little-endian blob: "CMSW", version byte, UInt32 parameter and
-- candidate counts, Float32 initial amax per parameter, then Float32 losses
-- candidate-major (MSESweepState.encoded()).
ALTER TABLE observerState ADD COLUMN sweep BLOB;
