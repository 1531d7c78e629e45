import ArgumentParser
import RobustSynthCore
import RobustSynthHost

/// Shell completion of plugin names (`rsynth classify --classifier <TAB>`, `rsynth plugins
/// describe <TAB>`): the shell calls rsynth back, which lists the plugins it finds, searching any
/// `--plugin-path` already on the command line first. Cheap: the plugin scan is cached (see
/// PluginScanner), so no child process runs while no library changed.
enum PluginCompletion {
    static func names(of kind: PluginKind? = nil) -> CompletionKind {
        .custom { words, _, prefix in
            let catalog = PluginCatalog.discover(pluginPaths: pluginPaths(in: words),
                                                 scanner: PluginScanner.forThisExecutable())
            return catalog.names(of: kind).filter { $0.hasPrefix(prefix) }.sorted()
        }
    }

    /// The values of `--plugin-path DIR` and `--plugin-path=DIR` among the shell words.
    static func pluginPaths(in words: [String]) -> [String] {
        var paths = [String]()
        var i = words.startIndex
        while i < words.endIndex {
            let w = words[i]
            if w == "--plugin-path", i + 1 < words.endIndex {
                paths.append(unquoted(words[i + 1]))
                i += 1
            } else if w.hasPrefix("--plugin-path=") {
                paths.append(unquoted(String(w.dropFirst("--plugin-path=".count))))
            }
            i += 1
        }
        return paths.filter { !$0.isEmpty }
    }

    /// The shell passes words verbatim: drop one level of surrounding quotes.
    static func unquoted(_ word: String) -> String {
        if word.count >= 2, let f = word.first, f == word.last, f == "'" || f == "\"" {
            return String(word.dropFirst().dropLast())
        }
        return word
    }
}
