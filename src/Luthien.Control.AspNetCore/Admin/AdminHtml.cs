using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace Luthien.Control.AspNetCore;

/// <summary>Markup that is written as it is: made by <see cref="AdminHtml"/> itself, never from a value.</summary>
/// <param name="Value">The markup.</param>
internal readonly record struct RawHtml(string Value)
{
    /// <summary>No markup.</summary>
    public static RawHtml Empty { get; } = new(string.Empty);

    /// <inheritdoc />
    public override string ToString() => Value;
}

/// <summary>
/// Builds an admin page. Every value interpolated into <c>Append</c> is HTML-encoded — the audit log holds model
/// output and request text, which an attacker writes — unless it is <see cref="RawHtml"/>, which only this area makes.
/// Encoding is the default, so a value cannot be forgotten into the page unescaped.
/// </summary>
internal sealed class AdminHtml
{
    /// <summary>Encodes for both text and (double-quoted) attribute values; letters of every script stay readable.</summary>
    public static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    /// <summary>The page so far.</summary>
    public StringBuilder Buffer { get; } = new(4096);

    /// <summary>Appends literal markup with encoded values.</summary>
    /// <param name="handler">The interpolated string.</param>
    public AdminHtml Append([InterpolatedStringHandlerArgument("")] ref Handler handler)
    {
        _ = handler;
        return this;
    }

    /// <summary>Appends markup made elsewhere in this area.</summary>
    /// <param name="html">The markup.</param>
    public AdminHtml Append(RawHtml html)
    {
        Buffer.Append(html.Value);
        return this;
    }

    /// <summary>Appends text, encoded.</summary>
    /// <param name="text">The text.</param>
    public AdminHtml Text(string? text)
    {
        Encode(Buffer, text);
        return this;
    }

    /// <summary>The markup built.</summary>
    public RawHtml ToHtml() => new(Buffer.ToString());

    /// <inheritdoc />
    public override string ToString() => Buffer.ToString();

    /// <summary>Encodes <paramref name="text"/> into <paramref name="buffer"/>.</summary>
    internal static void Encode(StringBuilder buffer, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        using var writer = new StringWriter(buffer, CultureInfo.InvariantCulture);
        Encoder.Encode(writer, text);
    }

    /// <summary>Writes literal parts as they are and every value encoded.</summary>
    [InterpolatedStringHandler]
    internal readonly ref struct Handler
    {
        private readonly StringBuilder _buffer;

        /// <summary>Starts on <paramref name="html"/>'s buffer.</summary>
        public Handler(int literalLength, int formattedCount, AdminHtml html)
        {
            _ = literalLength;
            _ = formattedCount;
            _buffer = html.Buffer;
        }

        /// <summary>Literal markup from the source code.</summary>
        public void AppendLiteral(string value) => _buffer.Append(value);

        /// <summary>Markup made by this area.</summary>
        public void AppendFormatted(RawHtml value) => _buffer.Append(value.Value);

        /// <summary>A value: encoded.</summary>
        public void AppendFormatted(string? value) => Encode(_buffer, value);

        /// <summary>A value: formatted with the invariant culture, then encoded.</summary>
        public void AppendFormatted<T>(T value) => AppendFormatted(value, null);

        /// <summary>A value with a format: formatted with the invariant culture, then encoded.</summary>
        public void AppendFormatted<T>(T value, string? format) =>
            Encode(_buffer, value is IFormattable formattable ? formattable.ToString(format, CultureInfo.InvariantCulture) : value?.ToString());
    }
}
