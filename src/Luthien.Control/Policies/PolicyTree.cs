namespace Luthien.Control;

/// <summary>Every policy of a chain: the composites' children (serial lists, branches and their default) included.</summary>
internal static class PolicyTree
{
    /// <summary>The policy and, depth first in their order, every policy it contains.</summary>
    /// <param name="root">The root of the chain.</param>
    public static IEnumerable<ControlPolicy> SelfAndDescendants(ControlPolicy root)
    {
        yield return root;
        var children = root switch
        {
            SerialPolicy serial => serial.Policies,
            BranchingPolicy branching => branching.Branches.Select(b => b.Value).Concat(branching.DefaultPolicy is { } d ? [d] : []),
            _ => [],
        };
        foreach (var child in children)
        {
            foreach (var policy in SelfAndDescendants(child))
            {
                yield return policy;
            }
        }
    }
}
