using System.Text.RegularExpressions;

namespace Luthien.Control.Streaming;

/// <summary>Options of <see cref="IncrementIntegersPolicy"/> (<c>IncrementIntegers</c> in policy files): a name only.</summary>
internal sealed class IncrementIntegersOptions : PolicyOptions;

/// <summary>
/// luthien_control's demonstration policy <c>IncrementIntegers</c>: adds 1 to every integer (<c>-?\d+</c>) in the text
/// the model writes, streamed or not. As there, each chunk's text is changed on its own, so a number the backend splits
/// across two chunks is incremented piece by piece.
/// </summary>
internal sealed partial class IncrementIntegersPolicy : StreamingControlPolicy
{
    /// <inheritdoc />
    protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(context);
        foreach (var output in chunk.Output)
        {
            if (output.Kind == OutputKind.Text && output.Text.Length > 0)
            {
                var text = output.Text;
                var incremented = Increment(text);
                if (!string.Equals(text, incremented, StringComparison.Ordinal))
                {
                    output.Text = incremented;
                }
            }
        }

        context.Emit(chunk);
        return ValueTask.CompletedTask;
    }

    /// <summary>Adds 1 to every integer in <paramref name="text"/>, of any length, as Python's integers do.</summary>
    /// <param name="text">The text.</param>
    internal static string Increment(string text) => Integer().Replace(text, static m => Increment(m.ValueSpan));

    /// <summary>
    /// One integer plus one, in decimal digits: linear in its length, where parsing a number of a megabyte of digits a
    /// backend could send would not be. Leading zeros go, as <c>int()</c> drops them.
    /// </summary>
    private static string Increment(ReadOnlySpan<char> integer)
    {
        var negative = integer[0] == '-';
        var digits = (negative ? integer[1..] : integer).TrimStart('0');
        if (digits.IsEmpty)
        {
            return "1";
        }

        var result = new char[digits.Length + 1];
        digits.CopyTo(result.AsSpan(1));
        result[0] = '0';
        if (!negative)
        {
            // n + 1: carry from the last digit.
            var i = result.Length - 1;
            while (result[i] == '9')
            {
                result[i--] = '0';
            }

            result[i]++;
        }
        else
        {
            // -n + 1 = -(n - 1): borrow from the last digit; n is at least 1 here.
            var i = result.Length - 1;
            while (result[i] == '0')
            {
                result[i--] = '9';
            }

            result[i]--;
        }

        var magnitude = result.AsSpan().TrimStart('0');
        return magnitude.IsEmpty ? "0" : negative ? string.Concat("-", magnitude) : new string(magnitude);
    }

    // ASCII digits only: Python's \d also matches other scripts' digits, which int() reads too; a model's numbers are
    // ASCII, and the arithmetic above works on ASCII digits.
    [GeneratedRegex(@"-?[0-9]+", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Integer();
}
