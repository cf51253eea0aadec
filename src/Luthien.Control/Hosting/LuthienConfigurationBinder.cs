using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Luthien.Control;

/// <summary>
/// Binds the <c>Luthien</c> configuration section with unknown keys refused, and says which key: the binder's own
/// message names a .NET options class (<c>Luthien.Control.BackendOptions: 'Url'</c>), not the setting as it is written
/// in <c>appsettings.json</c> or the environment, nor the keys that would do.
/// </summary>
internal static class LuthienConfigurationBinder
{
    /// <summary>Binds <paramref name="section"/> to <paramref name="options"/>.</summary>
    /// <param name="section">The <c>Luthien</c> section (or a configuration holding its keys at the top).</param>
    /// <param name="options">The options to fill.</param>
    /// <exception cref="InvalidOperationException">A key is not a setting (naming its full path and the settings beside it), or a value does not fit.</exception>
    public static void Bind(IConfiguration section, LuthienOptions options)
    {
        try
        {
            section.Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex) when (FirstUnknown(section, typeof(LuthienOptions)) is { } unknown)
        {
            throw new InvalidOperationException(
                $"'{unknown.Path}' is not a Luthien.Control setting. The settings {Where(unknown.Parent)}are: {string.Join(", ", unknown.Known)}.", ex);
        }
    }

    private static string Where(string? parent) => parent is null ? string.Empty : $"under '{parent}' ";

    /// <summary>The first key that names no property, depth first; collections and dictionaries are not looked into.</summary>
    private static (string Path, string? Parent, IReadOnlyList<string> Known)? FirstUnknown(IConfiguration section, Type type)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
        foreach (var child in section.GetChildren())
        {
            var property = properties.FirstOrDefault(p => string.Equals(p.Name, child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                var parent = section is IConfigurationSection s ? s.Path : null;
                return (child.Path, parent, [.. properties.Select(p => p.Name).Order(StringComparer.Ordinal)]);
            }

            var propertyType = property.PropertyType;
            if (propertyType.IsClass && propertyType != typeof(string) && propertyType != typeof(Uri) && !typeof(IEnumerable).IsAssignableFrom(propertyType) &&
                FirstUnknown(child, propertyType) is { } nested)
            {
                return nested;
            }
        }

        return null;
    }
}
