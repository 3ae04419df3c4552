namespace DistortSignals.Operator.Entities;

// The CRD metadata of an entity class, read by CrdGenerator (KubeOps' attribute names, reference/kubernetes-api.md section 1).

/// <summary>The group, version, kind and plural of a namespaced custom resource.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class KubernetesEntityAttribute(string group, string version, string kind, string plural) : Attribute
{
    public string Group { get; } = group;

    public string Version { get; } = version;

    public string Kind { get; } = kind;

    public string Plural { get; } = plural;

    public string[] ShortNames { get; init; } = [];

    public string[] Categories { get; init; } = [];
}

/// <summary>A kubectl column; priority 0 is the default view, above 0 only with -o wide.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class PrinterColumnAttribute(string name, string type, string jsonPath) : Attribute
{
    public string Name { get; } = name;

    public string Type { get; } = type;

    public string JsonPath { get; } = jsonPath;

    public int Priority { get; init; }

    public string? Description { get; init; }
}

/// <summary>A list merged by key (x-kubernetes-list-type: map), as status.conditions must be.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ListMapAttribute(string key) : Attribute
{
    public string Key { get; } = key;
}
