/// The version of rfgen's programs (rfgend, rfctl, rfgen-sim, rfgen-replay): one number for the
/// whole package, which `--version` prints and the API's banner and each record carry.
public enum RFGenVersion {
    public static let current = "0.4.0"
}
