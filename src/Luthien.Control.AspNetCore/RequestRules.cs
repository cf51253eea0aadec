
namespace Luthien.Control.AspNetCore;

/// <summary>
/// What the options say about requests, computed once per options instance (not per request): the pass-through allow
/// list and the credential header names.
/// </summary>
internal sealed class RequestRules
{
    /// <summary>Builds the rules; the options were validated at start, so the allow list parses.</summary>
    /// <param name="options">The current options.</param>
    public RequestRules(LuthienOptions options)
    {
        Options = options;
        Passthrough = PassthroughAllowList.Parse(options.Passthrough.Allow);
        Credentials = CredentialHeaders.Create(options.Headers.Credentials);
    }

    /// <summary>The options these rules were built from; new options (a reload) mean new rules.</summary>
    public LuthienOptions Options { get; }

    /// <summary>What is forwarded unparsed.</summary>
    public PassthroughAllowList Passthrough { get; }

    /// <summary>Client headers never forwarded and never logged.</summary>
    public CredentialHeaders Credentials { get; }
}
