using System.Text.RegularExpressions;

namespace Imageimportd.Tests.Unit;

/// <summary>
/// The dependencies between the core's namespaces (one per folder: <c>Imageimportd.X</c>), read from source text.
/// A file depends on namespace N when it has <c>using Imageimportd.N</c> (plain, static or alias), names
/// <c>Imageimportd.N.T</c> or <c>N.T</c> for a type T declared in N (in code or a cref), or, in a nested namespace,
/// uses a type of an enclosing one by its bare name. Comments (other than cref targets) and string literals are not
/// read. An unused using counts: it is a declared dependency.
/// </summary>
internal sealed partial class NamespaceGraph
{
    private readonly Dictionary<string, Dictionary<string, SortedSet<string>>> _edges = new(StringComparer.Ordinal);

    private NamespaceGraph(IReadOnlyCollection<string> namespaces)
    {
        Namespaces = namespaces;
    }

    /// <summary>Namespaces relative to <c>Imageimportd</c> ("Import", "Unpack.Direct").</summary>
    public IReadOnlyCollection<string> Namespaces { get; }

    /// <summary>Builds the graph of <paramref name="files"/> (path for messages, source text).</summary>
    public static NamespaceGraph Read(IEnumerable<(string Path, string Text)> files)
    {
        var parsed = files.Select(f => (f.Path, Namespace: NamespaceOf(f.Text), Code: CodeOnly(f.Text))).Where(f => f.Namespace is not null).ToList();
        var types = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (_, ns, code) in parsed)
        {
            var set = types.TryGetValue(ns!, out var s) ? s : types[ns!] = new HashSet<string>(StringComparer.Ordinal);
            set.UnionWith(TypeDeclaration().Matches(code).Select(m => m.Groups[1].Value));
        }

        var graph = new NamespaceGraph(types.Keys.ToList());
        foreach (var (path, ns, code) in parsed)
        {
            foreach (var dependency in DependenciesOf(ns!, code, types))
            {
                if (dependency != ns)
                {
                    graph.Add(ns!, dependency, path);
                }
            }
        }

        return graph;
    }

    /// <summary>The namespaces <paramref name="from"/> depends on, each with the files that make it so.</summary>
    public IReadOnlyDictionary<string, SortedSet<string>> DependenciesOf(string from) =>
        _edges.TryGetValue(from, out var to) ? to : new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);

    /// <summary>
    /// Every cycle as the strongly connected components of more than one namespace, each described as its edges
    /// with the files behind them; empty when the graph is acyclic.
    /// </summary>
    public IReadOnlyList<string> Cycles()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var components = new List<List<string>>();
        foreach (var ns in Namespaces.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(ns))
            {
                Connect(ns);
            }
        }

        return components.Where(c => c.Count > 1).Select(Describe).ToList();

        void Connect(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in DependenciesOf(v).Keys.Order(StringComparer.Ordinal))
            {
                if (!index.TryGetValue(w, out _))
                {
                    Connect(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w) && index.TryGetValue(w, out var seen))
                {
                    low[v] = Math.Min(low[v], seen);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                components.Add(component);
            }
        }

        string Describe(List<string> component)
        {
            var members = component.Order(StringComparer.Ordinal).ToList();
            var edges = members.SelectMany(a => DependenciesOf(a).Where(d => members.Contains(d.Key)).Select(d => $"{a} -> {d.Key} ({string.Join(", ", d.Value)})"));
            return $"cycle among {string.Join(", ", members)}: {string.Join("; ", edges)}";
        }
    }

    private void Add(string from, string to, string path)
    {
        var targets = _edges.TryGetValue(from, out var t) ? t : _edges[from] = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        (targets.TryGetValue(to, out var files) ? files : targets[to] = new SortedSet<string>(StringComparer.Ordinal)).Add(path);
    }

    private static IEnumerable<string> DependenciesOf(string ns, string code, Dictionary<string, HashSet<string>> types)
    {
        // using Imageimportd.X; using static Imageimportd.X.T; using A = Imageimportd.X.T; Imageimportd.X.T in code.
        foreach (Match m in FullyQualified().Matches(code))
        {
            if (Longest(m.Groups[1].Value.Split('.'), types, needType: false) is { } target)
            {
                yield return target;
            }
        }

        // X.T relative to Imageimportd (every core namespace is inside it), e.g. Scan.ArchiveNames.IsPullList(...).
        foreach (Match m in Qualified().Matches(code))
        {
            if (Longest(m.Groups[1].Value.Split('.'), types, needType: true) is { } target)
            {
                yield return target;
            }
        }

        // A nested namespace sees its enclosing namespaces' types without a using.
        var parts = ns.Split('.');
        for (var k = parts.Length - 1; k > 0; k--)
        {
            var enclosing = string.Join('.', parts[..k]);
            var own = types.GetValueOrDefault(ns) ?? [];
            if (types.TryGetValue(enclosing, out var visible) && visible.Except(own).Any(t => Regex.IsMatch(code, $@"(?<![\w.]){t}\b")))
            {
                yield return enclosing;
            }
        }
    }

    /// <summary>The longest prefix of <paramref name="parts"/> that is a namespace (followed by one of its types when asked).</summary>
    private static string? Longest(string[] parts, Dictionary<string, HashSet<string>> types, bool needType)
    {
        for (var k = needType ? parts.Length - 1 : parts.Length; k > 0; k--)
        {
            var candidate = string.Join('.', parts[..k]);
            if (types.TryGetValue(candidate, out var declared) && (!needType || declared.Contains(parts[k])))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string? NamespaceOf(string text) =>
        NamespaceDeclaration().Match(text) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>The text without comments (cref targets kept) and string literals.</summary>
    private static string CodeOnly(string text)
    {
        var t = BlockComment().Replace(text, " ");
        t = LineComment().Replace(t, m => string.Join(' ', Cref().Matches(m.Value).Select(c => c.Groups[1].Value)));
        return StringLiteral().Replace(t, "\"\"");
    }

    [GeneratedRegex(@"(?m)^namespace\s+Imageimportd\.([\w.]+)\s*;")]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record)\s+(?:class\s+|struct\s+)?([A-Z]\w*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"\bImageimportd\.([A-Z]\w*(?:\.[A-Z]\w*)*)")]
    private static partial Regex FullyQualified();

    [GeneratedRegex(@"(?<![\w.])([A-Z]\w*(?:\.[A-Z]\w*)+)")]
    private static partial Regex Qualified();

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex("cref=\"([^\"]*)\"")]
    private static partial Regex Cref();

    [GeneratedRegex(@"@?\$?""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex StringLiteral();
}
