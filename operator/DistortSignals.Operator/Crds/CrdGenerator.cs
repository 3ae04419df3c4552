using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DistortSignals.Core.Validation;
using DistortSignals.Operator.Entities;

namespace DistortSignals.Operator.Crds;

/// <summary>
/// Builds apiextensions.k8s.io/v1 CRDs from the entity classes (reference/kubernetes-api.md section 3): a
/// structural schema (every node typed, metadata only at the root), descriptions from the XML docs,
/// <c>required</c> from C# required members, ranges, patterns, lengths and CEL rules from the Core schema
/// attributes, the status subresource, printer columns and short names.
/// </summary>
public static class CrdGenerator
{
    public static readonly Type[] Entities = [typeof(TradingStrategy), typeof(BrokerAccount)];

    public static IReadOnlyList<(string FileName, JsonObject Crd)> Generate() =>
        [.. Entities.Select(t => ($"{Attribute(t).Plural}.{Attribute(t).Group}.yaml", Crd(t)))];

    public static JsonObject Crd(Type entity)
    {
        var meta = Attribute(entity);
        var spec = entity.GetProperty("Spec")!.PropertyType;
        var status = entity.GetProperty("Status")!.PropertyType;
        var schema = new JsonObject
        {
            ["type"] = "object",
            ["description"] = XmlDocs.Summary(entity) ?? meta.Kind,
            ["required"] = new JsonArray("spec"),
            ["properties"] = new JsonObject
            {
                ["apiVersion"] = new JsonObject { ["type"] = "string" },
                ["kind"] = new JsonObject { ["type"] = "string" },
                ["metadata"] = new JsonObject { ["type"] = "object" },
                ["spec"] = Schema(spec, null),
                ["status"] = Schema(status, null),
            },
        };
        var columns = new JsonArray([.. entity.GetCustomAttributes<PrinterColumnAttribute>().Select(c =>
        {
            var column = new JsonObject { ["name"] = c.Name, ["type"] = c.Type, ["jsonPath"] = c.JsonPath };
            if (c.Priority != 0)
            {
                column["priority"] = c.Priority;
            }

            return (JsonNode)column;
        })]);
        return new JsonObject
        {
            ["apiVersion"] = "apiextensions.k8s.io/v1",
            ["kind"] = "CustomResourceDefinition",
            ["metadata"] = new JsonObject { ["name"] = $"{meta.Plural}.{meta.Group}" },
            ["spec"] = new JsonObject
            {
                ["group"] = meta.Group,
                ["scope"] = "Namespaced",
                ["names"] = new JsonObject
                {
                    ["kind"] = meta.Kind,
                    ["listKind"] = meta.Kind + "List",
                    ["plural"] = meta.Plural,
                    ["singular"] = meta.Kind.ToLowerInvariant(),
                    ["shortNames"] = new JsonArray([.. meta.ShortNames.Select(s => (JsonNode)s)]),
                    ["categories"] = new JsonArray([.. meta.Categories.Select(s => (JsonNode)s)]),
                },
                ["versions"] = new JsonArray(new JsonObject
                {
                    ["name"] = meta.Version,
                    ["served"] = true,
                    ["storage"] = true,
                    ["subresources"] = new JsonObject { ["status"] = new JsonObject() },
                    ["additionalPrinterColumns"] = columns,
                    ["schema"] = new JsonObject { ["openAPIV3Schema"] = schema },
                }),
            },
        };
    }

    public static KubernetesEntityAttribute Attribute(Type entity) =>
        entity.GetCustomAttribute<KubernetesEntityAttribute>() ?? throw new ArgumentException($"{entity.Name} has no [KubernetesEntity]");

    private static JsonObject Schema(Type type, PropertyInfo? property)
    {
        var nullable = Nullable.GetUnderlyingType(type);
        type = nullable ?? type;
        var node = new JsonObject();
        switch (type)
        {
            case var t when t == typeof(string):
                node["type"] = "string";
                break;
            case var t when t == typeof(bool):
                node["type"] = "boolean";
                break;
            case var t when t == typeof(int):
                node["type"] = "integer";
                node["format"] = "int32";
                break;
            case var t when t == typeof(long):
                node["type"] = "integer";
                node["format"] = "int64";
                break;
            case var t when t == typeof(double):
                node["type"] = "number";
                break;
            case var t when t == typeof(DateTimeOffset):
                node["type"] = "string";
                node["format"] = "date-time";
                break;
            case { IsEnum: true }:
                node["type"] = "string";
                node["enum"] = new JsonArray([.. Enum.GetNames(type).Select(n => (JsonNode)n)]);
                break;
            case var t when DictionaryValue(t) is { } value:
                node["type"] = "object";
                node["additionalProperties"] = Schema(value, null);
                break;
            case var t when ListItem(t) is { } item:
                node["type"] = "array";
                node["items"] = Schema(item, null);
                break;
            default:
                Object(type, node);
                break;
        }

        if (property is not null)
        {
            Decorate(node, property);
        }

        if (nullable is not null || (property is not null && !type.IsValueType && IsNullable(property)))
        {
            node["nullable"] = true;
        }

        return node;
    }

    private static void Object(Type type, JsonObject node)
    {
        node["type"] = "object";
        var properties = new JsonObject();
        var required = new JsonArray();
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is not null && p.GetCustomAttribute<JsonIgnoreAttribute>() is null))
        {
            var name = JsonName(p);
            properties[name] = Schema(p.PropertyType, p);
            // A list that must have items must also be present: minItems alone accepts a missing list.
            if (p.GetCustomAttribute<RequiredMemberAttribute>() is not null || p.GetCustomAttribute<SchemaItemsAttribute>() is { Minimum: > 0 })
            {
                required.Add(name);
            }
        }

        if (required.Count > 0)
        {
            node["required"] = required;
        }

        node["properties"] = properties;
        var rules = type.GetCustomAttributes<SchemaRuleAttribute>().ToList();
        if (rules.Count > 0)
        {
            node["x-kubernetes-validations"] = new JsonArray([.. rules.Select(r =>
            {
                var rule = new JsonObject { ["rule"] = r.Rule, ["message"] = r.Message };
                if (r.FieldPath is not null)
                {
                    rule["fieldPath"] = r.FieldPath;
                }

                return (JsonNode)rule;
            })]);
        }
    }

    private static void Decorate(JsonObject node, PropertyInfo property)
    {
        var description = XmlDocs.Summary(property) ?? XmlDocs.Summary(Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType);
        if (description is not null)
        {
            node.Insert(0, "description", description);
        }

        if (property.GetCustomAttribute<SchemaRangeAttribute>() is { } range)
        {
            node["minimum"] = range.Minimum;
            if (range.ExclusiveMinimum)
            {
                node["exclusiveMinimum"] = true;
            }

            if (range.Maximum < double.MaxValue)
            {
                node["maximum"] = range.Maximum;
            }
        }

        if (property.GetCustomAttribute<SchemaPatternAttribute>() is { } pattern)
        {
            node["pattern"] = pattern.Pattern;
        }

        if (property.GetCustomAttribute<SchemaLengthAttribute>() is { } length)
        {
            node["minLength"] = length.Minimum;
            node["maxLength"] = length.Maximum;
        }

        if (property.GetCustomAttribute<SchemaItemsAttribute>() is { } items)
        {
            node["minItems"] = items.Minimum;
            if (items.Maximum < int.MaxValue)
            {
                node["maxItems"] = items.Maximum;
            }

            var item = (JsonObject)node["items"]!;
            if (items.ItemPattern is not null)
            {
                item["pattern"] = items.ItemPattern;
            }

            if (items.ItemMaxLength > 0)
            {
                item["maxLength"] = items.ItemMaxLength;
            }
        }

        if (property.GetCustomAttribute<ListMapAttribute>() is { } map)
        {
            node["x-kubernetes-list-type"] = "map";
            node["x-kubernetes-list-map-keys"] = new JsonArray(map.Key);
        }
    }

    private static bool IsNullable(PropertyInfo property) =>
        new NullabilityInfoContext().Create(property).ReadState == NullabilityState.Nullable;

    private static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? char.ToLowerInvariant(property.Name[0]) + property.Name[1..];

    private static Type? DictionaryValue(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var d && (d == typeof(IReadOnlyDictionary<,>) || d == typeof(IDictionary<,>) || d == typeof(Dictionary<,>))
            ? type.GetGenericArguments()[1]
            : null;

    private static Type? ListItem(Type type) =>
        type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type) && type.IsGenericType ? type.GetGenericArguments()[0] : null;
}
