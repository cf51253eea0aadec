using Luthien.Control.Streaming;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control;

/// <summary>
/// The checks a root policy passes before it takes traffic, whatever made it (a policy file, code, the default chain, a
/// reloaded file): every path through the chain must end in a response, and where the HTTP endpoints send requests to
/// the backend, the backend must have a URL. Without them the app would start and then fail every request (500 or 502).
/// </summary>
/// <remarks>
/// Paths are followed through <see cref="SerialPolicy"/> lists and every branch of a <see cref="BranchingPolicy"/>
/// (its default, or none taken when it has none). On a path, <c>SendBackendRequest</c> answers; the built-ins that
/// never answer on their own (authentication, key headers, model names, leaked keys, logging, response and tool-call
/// filters, no-op) are passed over; <see cref="SetBackendPolicy"/> with a URL gives the path its backend;
/// <see cref="BackendCallPolicy"/> sends as <c>SendBackendRequest</c> does (to its <c>api_endpoint</c> when it has one)
/// and is then taken as able to answer, since it leaves pass-through requests to what follows. A policy of
/// any other class (the host's own, or a built-in added later) may answer on its own or set the backend URL
/// (<see cref="TransactionRequest.BackendUrl"/> is public), so a path through it is taken as able to answer; a
/// <c>SendBackendRequest</c> after it with no URL, or no <c>SendBackendRequest</c> after it at all, is only warned about
/// (most such policies call <c>next</c>, set no URL and answer nothing).
/// </remarks>
internal static class RootPolicyChecks
{
    /// <summary>Built-ins known to call <c>next</c> (or throw) and never to set a response themselves.</summary>
    private static readonly HashSet<Type> NeverAnswer =
    [
        typeof(ClientApiKeyAuthPolicy),
        typeof(AddApiKeyHeaderPolicy),
        typeof(AddApiKeyHeaderFromEnvPolicy),
        typeof(ModelNameReplacementPolicy),
        typeof(LeakedApiKeyDetectionPolicy),
        typeof(NoopPolicy),
        typeof(SetBackendPolicy),
        typeof(TransactionContextLoggingPolicy),
        typeof(ResponseContentPolicy),
        typeof(ToolCallPolicy),
        typeof(IncrementIntegersPolicy),
    ];

    /// <summary>
    /// Checks a root policy for this application: the chain, and the backend URL when the HTTP endpoints are mapped
    /// (in-process, <c>SendBackendRequest</c> calls the inner chat client and needs none). What only a policy of the
    /// host's own could save is logged as a warning instead.
    /// </summary>
    /// <param name="root">The root policy.</param>
    /// <param name="source">What made it, as messages start: <c>Policy file '…'</c>, <c>The policy built in code</c>…</param>
    /// <param name="services">The application's services (options, backend client, whether endpoints are mapped, logging).</param>
    /// <exception cref="PolicyLoadException">A check fails; the message names the source, the entry and what to do.</exception>
    public static void Check(ControlPolicy root, string source, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var (problems, warnings) = Inspect(root, source, BackendNeedsUrl(services));
        if (problems.Count > 0)
        {
            throw new PolicyLoadException(string.Join(Environment.NewLine, problems));
        }

        if (warnings.Count > 0 && services.GetService<ILoggerFactory>() is { } loggers)
        {
            var logger = loggers.CreateLogger("Luthien.Control.RootPolicyChecks");
            foreach (var warning in warnings)
            {
                LogWarning(logger, warning, null);
            }
        }
    }

    /// <summary>Whether <c>SendBackendRequest</c> on the HTTP endpoints has no URL to send to unless a policy gives one.</summary>
    internal static bool BackendNeedsUrl(IServiceProvider services) =>
        services.GetService<LuthienEndpointsMarker>() is { Mapped: true } &&
        services.GetService<IOptions<LuthienOptions>>()?.Value.Backend.BaseUrl is null &&
        services.GetService<IBackendClient>() is HttpBackendClient or SdkBackendClient;

    /// <summary>
    /// The problems of a root policy (at most one of each kind), and the warnings: the same mistakes where a policy of
    /// the host's own stands on the path and might set the URL or answer.
    /// </summary>
    /// <param name="root">The root policy.</param>
    /// <param name="source">What made it, as messages start.</param>
    /// <param name="backendNeedsUrl">Whether a path reaching <c>SendBackendRequest</c> must have had a URL set.</param>
    internal static (List<string> Problems, List<string> Warnings) Inspect(ControlPolicy root, string source, bool backendNeedsUrl)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(source);
        var walk = new Walk(backendNeedsUrl);
        var ends = walk.Flow(root, "$", [new Route(HasUrl: false, AssumedBy: null, [])]);
        var problems = new List<string>();
        var warnings = new List<string>();
        if (walk.UrlMissing is { } sending)
        {
            problems.Add(UrlMessage(source, sending.Where, sending.Route));
        }
        else if (walk.UrlMaybeMissing is { } maybe)
        {
            warnings.Add($"{UrlMessage(source, maybe.Where, maybe.Route)} (Unless {maybe.Route.AssumedBy}, a policy of your own, sets Transaction.Request.BackendUrl or answers itself.)");
        }

        if (ends.FirstOrDefault(r => r.AssumedBy is null) is { } end)
        {
            problems.Add(end.Choices.Count == 0
                ? $"{source}: the policy chain {Describe(root, "$")} never produces a response: no SendBackendRequest and no policy that answers on its own stands in it, " +
                    "so every request would fail with 500 server_error. Put SendBackendRequest at its end."
                : $"{source}: a request{When(end)} reaches the end of the policy chain without a response: no SendBackendRequest and no policy that answers " +
                    "on its own stands on that path, so each such request would fail with 500 server_error. " +
                    "Put SendBackendRequest on that path (at the end of the chain, or in the branch; a BranchingPolicy without default_policy goes straight on when no condition holds).");
        }
        else if (ends.FirstOrDefault() is { AssumedBy: { } assumedBy } maybeEnd)
        {
            // The usual chain of a newcomer: their own policies, and SendBackendRequest forgotten.
            warnings.Add($"{source}: a request{When(maybeEnd)} reaches the end of the policy chain with no SendBackendRequest on its way, " +
                $"so unless {assumedBy}, a policy of your own, answers it (sets Transaction.Response), each such request fails with 500 server_error. " +
                "Put SendBackendRequest at the end of the chain (or on that path) unless that is what your policy does.");
        }

        return (problems, warnings);
    }

    /// <summary>The problems alone (what <see cref="Check"/> throws for).</summary>
    internal static List<string> Find(ControlPolicy root, string source, bool backendNeedsUrl) => Inspect(root, source, backendNeedsUrl).Problems;

    private static string UrlMessage(string source, string where, Route route) => where.StartsWith(BackendCallPolicy.TypeName + " ", StringComparison.Ordinal)
        ? $"{source}: Luthien:Backend:BaseUrl is not set, and the HTTP endpoints (MapLuthienControl) send requests{When(route)} " +
            $"to the backend with {where} with no URL to send them to, so each would fail with 502 backend_unavailable. " +
            "Give its backend_call_spec an api_endpoint (the backend's base URL with its version segment, e.g. https://api.openai.com/v1), " +
            "set Luthien:Backend:BaseUrl, or put a SetBackendPolicy with a backend_url ahead of it."
        : $"{source}: Luthien:Backend:BaseUrl is not set, and the HTTP endpoints (MapLuthienControl) send requests{When(route)} " +
            $"to the backend with SendBackendRequest at {where} with no URL to send them to, so each would fail with 502 backend_unavailable. " +
            "Set Luthien:Backend:BaseUrl to the backend's OpenAI-compatible base URL with its version segment (e.g. https://api.openai.com/v1), " +
            "serve the endpoints from an IChatClient with UseChatClientBackend(…) (package Luthien.Control.AI), " +
            "or put a SetBackendPolicy with a backend_url ahead of that SendBackendRequest.";

    /// <summary>The branch choices that lead to the problem; a long run of them is cut, the first ones say where to look.</summary>
    private static string When(Route route) => route.Choices.Count switch
    {
        0 => string.Empty,
        <= MaxChoicesShown => " for which " + string.Join(", and ", route.Choices),
        _ => " for which " + string.Join(", and ", route.Choices.Take(MaxChoicesShown)) + $", and {route.Choices.Count - MaxChoicesShown} more branch choices",
    };

    private const int MaxChoicesShown = 3;

    private static string Describe(ControlPolicy policy, string structuralPath) => $"{policy.DefinitionPath ?? structuralPath} ({policy.Name})";

    private static readonly Action<ILogger, string, Exception?> LogWarning = LoggerMessage.Define<string>(
        LogLevel.Warning, new EventId(1, "RootPolicyMayNotAnswer"), "{Message}");

    /// <summary>
    /// A way through the chain so far: whether it has a backend URL, the first policy of the host's own on it (which may
    /// answer or set the URL, so what follows is only a warning), and the branch choices that led here.
    /// </summary>
    private sealed record Route(bool HasUrl, string? AssumedBy, IReadOnlyList<string> Choices)
    {
        public Route Taking(string choice) => this with { Choices = [.. Choices, choice] };
    }

    /// <summary>Follows every route through the chain; what reaches the end of a policy flows on to its <c>next</c>.</summary>
    private sealed class Walk(bool backendNeedsUrl)
    {
        /// <summary>The first <c>SendBackendRequest</c> reached without a URL, and how.</summary>
        public (string Where, Route Route)? UrlMissing { get; private set; }

        /// <summary>The same, where only a host's policy before it could have set the URL.</summary>
        public (string Where, Route Route)? UrlMaybeMissing { get; private set; }

        /// <summary>The routes that come out of <paramref name="policy"/> still without a response (into its <c>next</c>).</summary>
        public List<Route> Flow(ControlPolicy policy, string path, List<Route> routes)
        {
            if (routes.Count == 0)
            {
                return routes;
            }

            var here = policy.DefinitionPath ?? path;
            switch (policy)
            {
                case SerialPolicy serial:
                    for (var i = 0; i < serial.Policies.Count && routes.Count > 0; i++)
                    {
                        routes = Flow(serial.Policies[i], $"{here}.policies[{i}]", routes);
                    }

                    return routes;

                case BranchingPolicy branching:
                    var name = Describe(branching, path);
                    var after = new List<Route>();
                    for (var i = 0; i < branching.Branches.Count; i++)
                    {
                        var branch = branching.Branches[i].Value;
                        var branchPath = $"{here}.branches[{i}]";
                        var choice = $"{name} takes the branch {Describe(branch, branchPath)}";
                        after.AddRange(Flow(branch, branchPath, [.. routes.Select(r => r.Taking(choice))]));
                    }

                    if (branching.DefaultPolicy is { } fallback)
                    {
                        var fallbackPath = $"{here}.default_policy";
                        after.AddRange(Flow(fallback, fallbackPath, [.. routes.Select(r => r.Taking($"{name} takes its default_policy {Describe(fallback, fallbackPath)}"))]));
                    }
                    else
                    {
                        after.AddRange(routes.Select(r => r.Taking($"no condition of {name} holds (it has no default_policy)")));
                    }

                    return Distinct(after);

                case SendBackendRequestPolicy:
                    if (backendNeedsUrl && UrlMissing is null && routes.FirstOrDefault(r => r is { HasUrl: false, AssumedBy: null }) is { } withoutUrl)
                    {
                        UrlMissing = (Describe(policy, path), withoutUrl);
                    }
                    else if (backendNeedsUrl && UrlMaybeMissing is null && routes.FirstOrDefault(r => !r.HasUrl) is { } maybeWithoutUrl)
                    {
                        UrlMaybeMissing = (Describe(policy, path), maybeWithoutUrl);
                    }

                    return [];

                case BackendCallPolicy call:
                    // It sends every policed request itself, to its api_endpoint or the URL the path has by then; a
                    // pass-through request goes on to the rest of the chain, which may answer it or not, as a policy of
                    // the host's own may.
                    if (call.ApiEndpoint is null && backendNeedsUrl && UrlMissing is null &&
                        routes.FirstOrDefault(r => r is { HasUrl: false, AssumedBy: null }) is { } callWithoutUrl)
                    {
                        UrlMissing = ($"{BackendCallPolicy.TypeName} at {Describe(policy, path)}", callWithoutUrl);
                    }

                    var calling = Describe(policy, path);
                    return Distinct([.. routes.Select(r => r.AssumedBy is null ? r with { AssumedBy = calling } : r)]);

                case SetBackendPolicy { BackendUrl: not null }:
                    return Distinct([.. routes.Select(r => r with { HasUrl = true })]);

                case var known when NeverAnswer.Contains(known.GetType()):
                    return routes;

                default:
                    // The host's own (or a built-in this check does not know): it may answer, set the URL, or go on.
                    var assumed = Describe(policy, path);
                    return Distinct([.. routes.Select(r => r.AssumedBy is null ? r with { AssumedBy = assumed } : r)]);
            }
        }

        /// <summary>
        /// One route per state (URL or not, a host's policy passed or not), the first found kept as the example: the
        /// count stays bounded however many branches follow each other.
        /// </summary>
        private static List<Route> Distinct(List<Route> routes) => [.. routes.DistinctBy(r => (r.HasUrl, r.AssumedBy is null))];
    }
}

/// <summary>Set by <c>MapLuthienControl</c>: the HTTP endpoints send requests to the backend, so it needs an address.</summary>
internal sealed class LuthienEndpointsMarker
{
    /// <summary>Whether the endpoints are mapped.</summary>
    public bool Mapped { get; set; }
}
