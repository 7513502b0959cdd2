/// The version of calib that writes runs.
public enum CalibVersion {
  public static let current = "0.1.0"
}
