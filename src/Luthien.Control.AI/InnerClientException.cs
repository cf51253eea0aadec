namespace Luthien.Control.AI;

/// <summary>
/// Carries what the next chat client threw through the policy pipeline, so that <see cref="LuthienChatClient"/> tells it
/// apart from a policy's failure and gives it to the app as it was thrown.
/// </summary>
internal sealed class InnerClientException(Exception inner) : Exception(inner.Message, inner);
