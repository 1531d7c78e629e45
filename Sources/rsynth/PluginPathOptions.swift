import ArgumentParser
import RobustSynthHost

/// `--plugin-path`, accepted by every command that loads plugins.
struct PluginPathOptions: ParsableArguments {
    @Option(name: .customLong("plugin-path"),
            help: ArgumentHelp("A folder (or library) to load plugins from; repeatable. Searched before RSYNTH_PLUGIN_PATH (colon-separated) and the folder of rsynth itself.",
                               valueName: "dir"),
            completion: .directory)
    var pluginPaths: [String] = []

    /// The plugins found, each library vetted first in a child `rsynth __scan-plugins` (a library
    /// that crashes or hangs while loading is reported, not fatal).
    func catalog() -> PluginCatalog {
        PluginCatalog.discover(pluginPaths: pluginPaths, scanner: PluginScanner.forThisExecutable())
    }
}

/// Prints to standard error.
func warn(_ text: String) {
    var stderr = StandardError()
    print(text, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(string.data(using: .utf8)!)
    }
}

import Foundation

/// A failure while running a command (not a misuse of its arguments): printed without the usage.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
