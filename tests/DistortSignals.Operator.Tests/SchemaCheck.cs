using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace DistortSignals.Operator.Tests;

/// <summary>
/// The OpenAPI v3 checks the API server makes against a CRD's structural schema, as far as our CRDs use them:
/// type, nullable, enum, required, minimum/maximum/exclusiveMinimum, pattern, min/maxLength, min/maxItems,
/// nested properties, items and additionalProperties. Unknown fields are pruned by the API server, not
/// refused, so they are not errors here. CEL rules are not evaluated.
/// </summary>
public static class SchemaCheck
{
    public static List<string> Errors(JsonObject schema, JsonNode? value, string path = "")
    {
        var errors = new List<string>();
        Check(schema, value, path, errors);
        return errors;
    }

    /// <summary>A schema number, whichever CLR type the YAML reader gave it.</summary>
    public static double? Num(JsonNode? node) => node is null ? null : double.Parse(node.ToJsonString(), CultureInfo.InvariantCulture);

    private static void Check(JsonObject schema, JsonNode? value, string path, List<string> errors)
    {
        if (value is null)
        {
            if (schema["nullable"]?.GetValue<bool>() != true)
            {
                errors.Add($"{path}: null is not allowed");
            }

            return;
        }

        var type = schema["type"]?.GetValue<string>();
        switch (type)
        {
            case "object" when value is JsonObject o:
                foreach (var required in (schema["required"] as JsonArray ?? []).Select(r => r!.GetValue<string>()))
                {
                    if (!o.ContainsKey(required))
                    {
                        errors.Add($"{path}.{required}: Required value");
                    }
                }

                foreach (var (key, child) in o)
                {
                    if (schema["properties"]?[key] is JsonObject property)
                    {
                        Check(property, child, $"{path}.{key}", errors);
                    }
                    else if (schema["additionalProperties"] is JsonObject additional)
                    {
                        Check(additional, child, $"{path}.{key}", errors);
                    }
                }

                break;
            case "array" when value is JsonArray a:
                if (Num(schema["minItems"]) is { } minItems && a.Count < minItems)
                {
                    errors.Add($"{path}: must have at least {minItems} items");
                }

                if (Num(schema["maxItems"]) is { } maxItems && a.Count > maxItems)
                {
                    errors.Add($"{path}: must have at most {maxItems} items");
                }

                for (var i = 0; i < a.Count; i++)
                {
                    Check((JsonObject)schema["items"]!, a[i], $"{path}[{i}]", errors);
                }

                break;
            case "string" when value is JsonValue s && s.GetValueKind() == JsonValueKind.String:
                var text = s.GetValue<string>();
                if (schema["enum"] is JsonArray values && !values.Any(v => v!.GetValue<string>() == text))
                {
                    errors.Add($"{path}: Unsupported value: \"{text}\"");
                }

                if (schema["pattern"]?.GetValue<string>() is { } pattern && !Regex.IsMatch(text, pattern))
                {
                    errors.Add($"{path}: should match '{pattern}'");
                }

                if (Num(schema["minLength"]) is { } minLength && text.Length < minLength)
                {
                    errors.Add($"{path}: should be at least {minLength} chars long");
                }

                if (Num(schema["maxLength"]) is { } maxLength && text.Length > maxLength)
                {
                    errors.Add($"{path}: may not be more than {maxLength} bytes");
                }

                break;
            case "integer" or "number" when value is JsonValue n && n.GetValueKind() == JsonValueKind.Number:
                var number = double.Parse(n.ToJsonString(), CultureInfo.InvariantCulture);
                if (type == "integer" && number != Math.Floor(number))
                {
                    errors.Add($"{path}: must be an integer");
                }

                if (Num(schema["minimum"]) is { } minimum)
                {
                    var exclusive = schema["exclusiveMinimum"]?.GetValue<bool>() == true;
                    if (exclusive ? number <= minimum : number < minimum)
                    {
                        errors.Add($"{path}: should be greater than {(exclusive ? "" : "or equal to ")}{minimum}");
                    }
                }

                if (Num(schema["maximum"]) is { } maximum && number > maximum)
                {
                    errors.Add($"{path}: should be less than or equal to {maximum}");
                }

                break;
            case "boolean" when value is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                break;
            default:
                errors.Add($"{path}: must be of type {type}");
                break;
        }
    }
}
