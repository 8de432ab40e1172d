/// The registry's version: `/health`, the `User-Agent` of probes, `service_registry_build_info`.
public enum RegistryVersion {
    public static let current = "0.1.0"
}
