import Testing

@testable import RegistryModel

@Test func registerAndGet() async throws {
    try await withRegistry { client, _ in
        let created = try await client.send(.post, "/api/services", #"{"name":"web","url":"http://127.0.0.1:8080","status":"active","port":8080}"#)
        #expect(created.status == 200)
        #expect(created.json?["id"]?.int == 1)
    }
}
