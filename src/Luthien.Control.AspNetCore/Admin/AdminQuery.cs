using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// The transaction filters of the list page and of <c>GET api/transactions</c>, from the query string: <c>status</c>,
/// <c>model</c>, <c>key_name</c>, <c>from</c> and <c>to</c> (UTC; ISO 8601, a time without zone read as UTC),
/// <c>before_id</c> (the next page) and <c>limit</c>, <c>transaction_id</c>. Empty values are no filter.
/// </summary>
internal static class AdminQuery
{
    /// <summary>Transactions per page unless <c>limit</c> says otherwise.</summary>
    public const int DefaultLimit = 50;

    /// <summary>The largest <c>limit</c>.</summary>
    public const int MaxLimit = 500;

    /// <summary>The longest text filter accepted.</summary>
    private const int MaxTextLength = 200;

    /// <summary>Reads the filters; on a bad value, says which parameter and why.</summary>
    /// <param name="values">The query string.</param>
    /// <param name="query">The filters read.</param>
    /// <param name="problem">The parameter at fault and the message, when one is.</param>
    public static bool TryRead(IQueryCollection values, out TransactionQuery query, out (string Param, string Message)? problem)
    {
        query = new TransactionQuery { Limit = DefaultLimit };
        problem = null;

        if (Value(values, "limit") is { } limitText)
        {
            if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit is < 1 or > MaxLimit)
            {
                problem = ("limit", $"limit must be a whole number from 1 to {MaxLimit}.");
                return false;
            }

            query = query with { Limit = limit };
        }

        if (Value(values, "status") is { } statusText)
        {
            if (!int.TryParse(statusText, NumberStyles.None, CultureInfo.InvariantCulture, out var status) || status is < 100 or > 999)
            {
                problem = ("status", "status must be an HTTP status code, e.g. 200 or 403.");
                return false;
            }

            query = query with { Status = status };
        }

        if (Value(values, "before_id") is { } beforeText)
        {
            if (!long.TryParse(beforeText, NumberStyles.None, CultureInfo.InvariantCulture, out var before) || before < 1)
            {
                problem = ("before_id", "before_id must be a row id (a positive whole number).");
                return false;
            }

            query = query with { BeforeId = before };
        }

        foreach (var (name, apply) in new (string, Func<TransactionQuery, DateTime, TransactionQuery>)[]
        {
            ("from", (q, t) => q with { From = t }),
            ("to", (q, t) => q with { To = t }),
        })
        {
            if (Value(values, name) is { } timeText)
            {
                if (!TryParseUtc(timeText, out var time))
                {
                    problem = (name, $"{name} must be a UTC time in ISO 8601 form, e.g. 2025-01-31T14:05 or 2025-01-31T14:05:00Z.");
                    return false;
                }

                query = apply(query, time);
            }
        }

        foreach (var (name, apply) in new (string, Func<TransactionQuery, string, TransactionQuery>)[]
        {
            ("model", (q, v) => q with { Model = v }),
            ("key_name", (q, v) => q with { KeyName = v }),
            ("transaction_id", (q, v) => q with { TransactionId = v }),
        })
        {
            if (Value(values, name) is { } text)
            {
                if (text.Length > MaxTextLength)
                {
                    problem = (name, $"{name} must be at most {MaxTextLength} characters.");
                    return false;
                }

                query = apply(query, text);
            }
        }

        return true;
    }

    /// <summary>A time as a <c>datetime-local</c> field shows it (the pages' times are UTC).</summary>
    /// <param name="utc">The time.</param>
    public static string ToInputValue(DateTime? utc) =>
        utc?.ToString(utc.Value.Second == 0 && utc.Value.Millisecond == 0 ? "yyyy-MM-ddTHH:mm" : "yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture) ?? string.Empty;

    /// <summary>A query string holding the filters (not the page), each escaped, for links; empty when there are none.</summary>
    /// <param name="query">The filters.</param>
    /// <param name="beforeId">The page to link to, if any.</param>
    public static string ToQueryString(TransactionQuery query, long? beforeId)
    {
        var parts = new List<string>();
        void Add(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                parts.Add(name + "=" + Uri.EscapeDataString(value));
            }
        }

        Add("status", query.Status?.ToString(CultureInfo.InvariantCulture));
        Add("model", query.Model);
        Add("key_name", query.KeyName);
        Add("from", query.From is { } from ? ToInputValue(from) : null);
        Add("to", query.To is { } to ? ToInputValue(to) : null);
        Add("limit", query.Limit != DefaultLimit ? query.Limit.ToString(CultureInfo.InvariantCulture) : null);
        Add("before_id", beforeId?.ToString(CultureInfo.InvariantCulture));
        return parts.Count == 0 ? string.Empty : "?" + string.Join('&', parts);
    }

    private static bool TryParseUtc(string text, out DateTime utc)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var time))
        {
            utc = time.UtcDateTime;
            return true;
        }

        utc = default;
        return false;
    }

    private static string? Value(IQueryCollection values, string name)
    {
        var value = values[name].ToString().Trim();
        return value.Length == 0 ? null : value;
    }
}
