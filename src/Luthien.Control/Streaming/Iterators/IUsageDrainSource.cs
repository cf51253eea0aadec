namespace Luthien.Control.Streaming;

/// <summary>
/// A backend stream that can be read on for its usage chunk after a policy ended the answer early
/// (<c>Luthien:Streaming:UsageDrainSeconds</c>): the raw SSE stream, and an <c>IChatClient</c> backend's.
/// </summary>
internal interface IUsageDrainSource
{
    /// <summary>How long to read on for the usage chunk; <see cref="TimeSpan.Zero"/> turns the drain off.</summary>
    TimeSpan UsageDrain { get; }

    /// <summary>The clock of the drain's deadline.</summary>
    TimeProvider TimeProvider { get; }
}
