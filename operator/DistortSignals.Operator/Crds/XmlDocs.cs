using System.Collections.Concurrent;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace DistortSignals.Operator.Crds;

/// <summary>
/// The &lt;summary&gt; of a type or property from its assembly's XML documentation file, as one line of
/// plain text: the C# doc comments on the spec types are the CRD's descriptions, written once.
/// </summary>
internal static partial class XmlDocs
{
    private static readonly ConcurrentDictionary<Assembly, IReadOnlyDictionary<string, string>> Files = new();

    public static string? Summary(Type type) => Lookup(type.Assembly, "T:" + Name(type));

    public static string? Summary(PropertyInfo property) => Lookup(property.DeclaringType!.Assembly, $"P:{Name(property.DeclaringType!)}.{property.Name}");

    private static string Name(Type type) => type.FullName!.Replace('+', '.');

    /// <summary>Only our own assemblies document the schema; framework types (string, lists) describe nothing.</summary>
    private static string? Lookup(Assembly assembly, string id) =>
        assembly.GetName().Name!.StartsWith("distortsignals", StringComparison.OrdinalIgnoreCase) ? Load(assembly).GetValueOrDefault(id) : null;

    private static IReadOnlyDictionary<string, string> Load(Assembly assembly) => Files.GetOrAdd(assembly, a =>
    {
        var path = Path.ChangeExtension(a.Location, ".xml");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"the XML documentation of {a.GetName().Name} is missing; CRD descriptions come from it", path);
        }

        return XDocument.Load(path).Descendants("member")
            .Where(m => m.Element("summary") is not null)
            .ToDictionary(m => (string)m.Attribute("name")!, m => Text(m.Element("summary")!));
    });

    private static string Text(XElement summary)
    {
        var parts = summary.Nodes().Select(n => n switch
        {
            XText text => text.Value,
            XElement { Name.LocalName: "see" } see => Short((string?)see.Attribute("cref") ?? (string?)see.Attribute("langword") ?? ""),
            XElement element => element.Value,
            _ => "",
        });
        return Spaces().Replace(string.Concat(parts), " ").Trim();
    }

    /// <summary>"P:Ns.Type.Member" and "M:Ns.Type.Member(System.String)" read as "Member".</summary>
    private static string Short(string cref)
    {
        var name = cref.Split('(')[0];
        return name[(name.LastIndexOf('.') + 1)..];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
