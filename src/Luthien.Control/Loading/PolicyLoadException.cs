namespace Luthien.Control;

/// <summary>A policy file or policy definition is invalid. The message names the policy and the field at fault.</summary>
public sealed class PolicyLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PolicyLoadException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong, naming the policy and the field.</param>
    public PolicyLoadException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What is wrong, naming the policy and the field.</param>
    /// <param name="innerException">The cause.</param>
    public PolicyLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
