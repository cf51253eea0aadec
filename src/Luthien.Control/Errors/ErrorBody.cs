using System.Text.Json;
using Luthien.Control.Json;

namespace Luthien.Control;

/// <summary>Builds the OpenAI error envelope <c>{"error":{"message","type","param","code"}}</c>.</summary>
public static class ErrorBody
{
    /// <summary>Serializes an error envelope as UTF-8 JSON.</summary>
    /// <param name="message">The message; it must hold no secret.</param>
    /// <param name="type">The error type.</param>
    /// <param name="code">The error code.</param>
    /// <param name="param">The request field at fault, or <see langword="null"/>.</param>
    public static byte[] ToUtf8(string message, string type, string code, string? param)
    {
        using var buffer = new MemoryStream(128 + message.Length);
        using (var writer = new Utf8JsonWriter(buffer, LuthienJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("message", message);
            writer.WriteString("type", type);
            if (param is null)
            {
                writer.WriteNull("param");
            }
            else
            {
                writer.WriteString("param", param);
            }

            writer.WriteString("code", code);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Serializes the envelope for an exception.</summary>
    /// <param name="exception">The failure.</param>
    public static byte[] ToUtf8(ControlPolicyException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return ToUtf8(exception.Message, exception.Type, exception.Code, exception.Param);
    }
}
