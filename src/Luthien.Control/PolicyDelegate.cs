namespace Luthien.Control;

/// <summary>
/// The rest of the policy pipeline, as a <see cref="ControlPolicy"/> receives it: awaiting it runs every policy after this
/// one (and the backend call, when one of them sends it); when it returns, the response is there to act on.
/// </summary>
/// <param name="transaction">The transaction, passed on unchanged.</param>
/// <param name="cancellationToken">Fires when the client goes away.</param>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "Named after ASP.NET Core's RequestDelegate, which plays the same part.")]
public delegate ValueTask PolicyDelegate(Transaction transaction, CancellationToken cancellationToken);
