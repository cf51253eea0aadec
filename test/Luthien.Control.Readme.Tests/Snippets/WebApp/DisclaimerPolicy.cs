using Luthien.Control;
using Luthien.Control.Streaming;

public sealed class DisclaimerOptions : PolicyOptions { public string Text { get; set; } = " (AI-generated)"; }

/// Adds a disclaimer at the end of every slot that ends normally, streamed or buffered; other chunks pass byte for byte.
public sealed class DisclaimerPolicy(DisclaimerOptions options) : StreamingControlPolicy
{
    protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken ct)
    {
        // Backwards: text added before an end does not move what is still to visit.
        for (var i = chunk.Output.Count - 1; i >= 0; i--)
        {
            if (chunk.Output[i] is { Kind: OutputKind.Finish, FinishReason: "stop", IsRemoved: false } end)
                chunk.Add(OutputEvent.CreateText(end.Slot, options.Text));   // goes in before the end
        }

        context.Emit(chunk);
        return ValueTask.CompletedTask;
    }
}
