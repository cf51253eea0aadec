namespace Luthien.Control;

/// <summary>
/// Base of every policy's options in a policy file. <c>name</c> and <c>type</c> are accepted in every <c>config</c>
/// because luthien_control writes them there.
/// </summary>
public class PolicyOptions
{
    /// <summary>The policy instance's name, used in logs.</summary>
    public string? Name { get; set; }

    /// <summary>The policy type, repeated inside <c>config</c> by some writers; ignored.</summary>
    public string? Type { get; set; }
}
