using System.Text;
using Imageimportd.Errors;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// The subset of containerd's filter syntax the fakes understand: a filter is a comma-separated AND of clauses
/// <c>field==value</c>, <c>field!=value</c> or a bare <c>field</c> (present); a list of filters is an OR. Fields are
/// plain names (<c>name</c>, <c>id</c>, <c>digest</c>) or <c>labels."KEY"</c> / <c>labels.KEY</c>; values may be quoted.
/// Anything else is an InvalidArgument, as containerd answers.
/// </summary>
public sealed class FilterExpression
{
    private readonly IReadOnlyList<IReadOnlyList<Clause>> _anyOf;

    private FilterExpression(IReadOnlyList<IReadOnlyList<Clause>> anyOf) => _anyOf = anyOf;

    /// <summary>Parses the filters; an empty list matches everything.</summary>
    public static FilterExpression Parse(IReadOnlyList<string> filters)
    {
        var anyOf = new List<IReadOnlyList<Clause>>();
        foreach (var filter in filters)
        {
            var clauses = new List<Clause>();
            foreach (var clause in SplitUnquoted(filter, ','))
            {
                clauses.Add(ParseClause(clause.Trim(), filter));
            }

            anyOf.Add(clauses);
        }

        return new FilterExpression(anyOf);
    }

    /// <summary>
    /// True when the object matches. <paramref name="field"/> resolves a normalised field path
    /// (<c>name</c>, or <c>labels.KEY</c> without quotes) to its value, or null when absent.
    /// </summary>
    public bool Matches(Func<string, string?> field)
    {
        if (_anyOf.Count == 0)
        {
            return true;
        }

        return _anyOf.Any(all => all.All(c => c.Matches(field(c.Field))));
    }

    private static Clause ParseClause(string clause, string filter)
    {
        if (clause.Length == 0)
        {
            throw Invalid(filter, "empty clause");
        }

        var (fieldText, op, valueText) = SplitOperator(clause);
        var field = NormalizeField(fieldText.Trim(), filter);
        string? value = valueText is null ? null : Unquote(valueText.Trim(), filter);
        if (op is not null && string.IsNullOrEmpty(value))
        {
            throw Invalid(filter, "missing value");
        }

        return new Clause(field, op, value);
    }

    private static (string Field, string? Op, string? Value) SplitOperator(string clause)
    {
        var inQuotes = false;
        for (var i = 0; i < clause.Length - 1; i++)
        {
            var c = clause[i];
            if (c == '\\' && inQuotes)
            {
                i++;
                continue;
            }

            if (c == '"')
            {
                inQuotes = !inQuotes;
                continue;
            }

            if (!inQuotes && (c is '=' or '!' or '~') && clause[i + 1] == '=')
            {
                var op = clause.Substring(i, 2);
                if (op == "~=")
                {
                    throw Invalid(clause, "regular expressions are not supported by the fake");
                }

                return (clause[..i], op, clause[(i + 2)..]);
            }
        }

        return (clause, null, null);
    }

    private static string NormalizeField(string field, string filter)
    {
        const string labels = "labels.";
        if (field.StartsWith(labels, StringComparison.Ordinal))
        {
            var key = field[labels.Length..];
            key = key.StartsWith('"') ? Unquote(key, filter) : key;
            if (key.Length == 0)
            {
                throw Invalid(filter, "empty label key");
            }

            return labels + key;
        }

        if (field.Length == 0 || !field.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_'))
        {
            throw Invalid(filter, $"bad field \"{field}\"");
        }

        return field;
    }

    private static string Unquote(string text, string filter)
    {
        if (!text.StartsWith('"'))
        {
            return text;
        }

        if (text.Length < 2 || !text.EndsWith('"'))
        {
            throw Invalid(filter, "unterminated quote");
        }

        var sb = new StringBuilder(text.Length);
        for (var i = 1; i < text.Length - 1; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length - 1)
            {
                i++;
            }

            sb.Append(text[i]);
        }

        return sb.ToString();
    }

    private static IEnumerable<string> SplitUnquoted(string text, char separator)
    {
        var start = 0;
        var inQuotes = false;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && inQuotes)
            {
                i++;
            }
            else if (text[i] == '"')
            {
                inQuotes = !inQuotes;
            }
            else if (text[i] == separator && !inQuotes)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }

        yield return text[start..];
    }

    private static BackendException Invalid(string filter, string why) =>
        new(FailureKind.InvalidArgument, $"invalid filter \"{filter}\": {why}");

    private sealed record Clause(string Field, string? Op, string? Value)
    {
        public bool Matches(string? actual) => Op switch
        {
            null => actual is not null,
            "==" => actual is not null && string.Equals(actual, Value, StringComparison.Ordinal),
            _ => !string.Equals(actual, Value, StringComparison.Ordinal),
        };
    }
}
