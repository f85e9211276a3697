import Testing
@testable import Executor
@Test func helpLists() { #expect(SyphonExecutor.configuration.commandName == "syphon-executor") }
