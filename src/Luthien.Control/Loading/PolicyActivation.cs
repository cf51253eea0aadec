using System.Reflection;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control;

/// <summary>
/// Makes the factory of a host's policy class from its constructors, the way a .NET developer expects
/// <c>AddPolicy&lt;T&gt;(name)</c> to work: a <see cref="PolicyConfig"/> parameter gets the raw config; otherwise a
/// <see cref="PolicyOptions"/> parameter gets the config bound to its type (unknown keys refused); otherwise the config
/// may hold only <c>name</c> (and the <c>type</c> some writers repeat). Other parameters come from the application's
/// services, and one that nobody registered is named at start with its policy entry.
/// </summary>
internal static class PolicyActivation
{
    /// <summary>Makes the factory.</summary>
    /// <param name="policyType">The policy class.</param>
    /// <param name="typeName">The name it is registered under, for messages.</param>
    /// <param name="optionsType">
    /// Its options type when the registration names one (<c>AddPolicy&lt;T, TOptions&gt;</c>); else found from the constructors.
    /// </param>
    /// <exception cref="ArgumentException">The class cannot be a policy made this way; the message says what to do instead.</exception>
    public static Func<PolicyConfig, ControlPolicy> Factory(Type policyType, string typeName, Type? optionsType = null)
    {
        ArgumentNullException.ThrowIfNull(policyType);
        if (policyType.IsAbstract || !typeof(ControlPolicy).IsAssignableFrom(policyType))
        {
            throw new ArgumentException($"Policy '{typeName}': {policyType.FullName} is not a concrete ControlPolicy.", nameof(policyType));
        }

        var constructors = policyType.GetConstructors(BindingFlags.Public | BindingFlags.Instance);
        if (constructors.Length == 0)
        {
            throw new ArgumentException($"Policy '{typeName}': {policyType.FullName} has no public constructor.", nameof(policyType));
        }

        var parameterTypes = constructors.SelectMany(c => c.GetParameters()).Select(p => p.ParameterType).ToList();
        if (optionsType is null && parameterTypes.Contains(typeof(PolicyConfig)))
        {
            return config =>
            {
                var policy = Create(config, policyType, [config]);
                policy.Name = config.Name;
                return policy;
            };
        }

        if (optionsType is null)
        {
            var candidates = parameterTypes.Where(t => typeof(PolicyOptions).IsAssignableFrom(t)).Distinct().ToList();
            if (candidates.Count > 1)
            {
                throw new ArgumentException(
                    $"Policy '{typeName}': the constructors of {policyType.Name} take several options types ({string.Join(", ", candidates.Select(t => t.Name))}); " +
                    $"say which one its config binds to with AddPolicy<{policyType.Name}, {candidates[0].Name}>(\"{typeName}\").",
                    nameof(policyType));
            }

            optionsType = candidates.SingleOrDefault();
        }

        if (optionsType is not null && (optionsType.IsAbstract || optionsType.GetConstructor(Type.EmptyTypes) is null))
        {
            throw new ArgumentException(
                $"Policy '{typeName}': its options type {optionsType.Name} needs a public parameterless constructor, so that its config can bind to it.",
                nameof(optionsType));
        }

        var boundType = optionsType ?? typeof(PolicyOptions);
        return config =>
        {
            // Bound even when the policy takes no options: a key it would ignore is a mistake in the file.
            var options = config.Bind(boundType);
            var policy = Create(config, policyType, optionsType is null ? [] : [options]);
            policy.Name = options.Name ?? config.TypeName;
            return policy;
        };
    }

    /// <summary>Creates the policy with the application's services and the given arguments.</summary>
    /// <exception cref="PolicyLoadException">It cannot be created; the message names the policy entry and why.</exception>
    public static ControlPolicy Create(PolicyConfig config, Type policyType, object[] arguments)
    {
        try
        {
            return (ControlPolicy)ActivatorUtilities.CreateInstance(config.Services, policyType, arguments);
        }
        catch (InvalidOperationException ex) when (Missing(config.Services, policyType, arguments) is { } missing)
        {
            throw config.Error(Describe(config, policyType, missing), ex);
        }
        catch (InvalidOperationException ex)
        {
            throw config.Error($"{policyType.Name} could not be created: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            // What the policy's constructor says of its arguments (an empty list, a bad pattern) is about its config.
            throw config.Error(ex.Message, ex);
        }
    }

    /// <summary>
    /// The parameter the constructor closest to being usable cannot get: not an argument, not a registered service, no
    /// default value. <see langword="null"/> when every constructor could be served (the failure was something else).
    /// </summary>
    private static ParameterInfo? Missing(IServiceProvider services, Type policyType, object[] arguments)
    {
        var isService = services.GetService<IServiceProviderIsService>();
        ParameterInfo? best = null;
        var fewest = int.MaxValue;
        foreach (var constructor in policyType.GetConstructors(BindingFlags.Public | BindingFlags.Instance))
        {
            var missing = constructor.GetParameters()
                .Where(p => !p.HasDefaultValue && !arguments.Any(p.ParameterType.IsInstanceOfType) &&
                    !(isService?.IsService(p.ParameterType) ?? services.GetService(p.ParameterType) is not null))
                .ToList();
            if (missing.Count == 0)
            {
                return null;
            }

            if (missing.Count < fewest)
            {
                fewest = missing.Count;
                best = missing[0];
            }
        }

        return best;
    }

    private static string Describe(PolicyConfig config, Type policyType, ParameterInfo missing)
    {
        var needed = missing.ParameterType;
        if (typeof(PolicyOptions).IsAssignableFrom(needed))
        {
            return $"{policyType.Name}'s constructor takes its options as {needed.Name} (parameter '{missing.Name}'), but the registration binds " +
                $"the config to another type: register it with AddPolicy<{policyType.Name}, {needed.Name}>(\"{config.TypeName}\"), " +
                $"or with AddPolicy<{policyType.Name}>(\"{config.TypeName}\"), which finds the options type from the constructor.";
        }

        return $"{policyType.Name}'s constructor needs a service of type {needed.FullName} (parameter '{missing.Name}'), and none is registered: " +
            $"register one (builder.Services.AddSingleton<{needed.Name}>(…)) or give the parameter a default value.";
    }
}
