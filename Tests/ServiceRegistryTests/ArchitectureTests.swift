import Foundation
import Testing

/// docs/ARCHITECTURE.md: each layer is a SwiftPM target, and `Package.swift` gives a target every target of the layers
/// below it and nothing else of ours, so the compiler refuses an import that points up or sideways. This test keeps
/// `Package.swift` honest in turn: a new target must be placed in a layer here (and in the picture), and no source file
/// imports a target of its own layer or above, even if someone widens a target's dependencies.
@Suite struct ArchitectureTests {
    static let rank = [
        "RegistrySupport": 0, "RegistryModel": 1, "RegistryStore": 2,
        "RegistryProbe": 3, "RegistryDiscovery": 3, "RegistryExposition": 3, "RegistryDashboard": 3, "RegistryTLS": 3,
        "RegistryHTTP": 4, "RegistryApp": 5,
    ]

    @Test func everyTargetHasALayerAndImportsOnlyLowerOnes() throws {
        let sources = TestPaths.packageRoot.appendingPathComponent("Sources")
        let targets = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { $0.hasPrefix("Registry") }
        #expect(Set(targets) == Set(Self.rank.keys), "Sources/Registry* folders and the layer table differ")
        var violations: [String] = []
        for target in targets.sorted() {
            guard let enumerator = FileManager.default.enumerator(atPath: sources.appendingPathComponent(target).path) else { continue }
            for case let file as String in enumerator where file.hasSuffix(".swift") {
                let text = try String(contentsOf: sources.appendingPathComponent("\(target)/\(file)"), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    guard let match = line.wholeMatch(of: /(?:@\w+ )?import (Registry\w+)/) else { continue }
                    let imported = String(match.1)
                    if (Self.rank[imported] ?? .max) >= Self.rank[target]! { violations.append("\(target)/\(file) imports \(imported)") }
                }
            }
        }
        #expect(violations.isEmpty, "imports that point up or sideways:\n\(violations.joined(separator: "\n"))")
    }
}
