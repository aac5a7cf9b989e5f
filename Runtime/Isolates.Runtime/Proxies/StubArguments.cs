using Isolates.Calls;
using Isolates.Wire;

namespace Isolates.Proxies;

/// <summary>The arguments of a generated stub's call leaving this process's isolates (to a host service, or from a child to the host).</summary>
internal static class StubArguments
{
    /// <summary>
    /// Encodes the arguments that cross (the stub's first parameter, the object id, is not among them) and collects the
    /// tokens that do not: the side that runs the call gives it a token of its own, which these cancel.
    /// </summary>
    public static byte[] Encode(CallPlan plan, object?[] arguments, List<CancellationToken> tokens, out object[]? attachments)
    {
        var codecs = new List<Codec>(arguments.Length);
        var values = new List<object?>(arguments.Length);
        for (int i = 0; i < arguments.Length; i++)
        {
            if (plan.TokenParameters[i + 1])
            {
                if (arguments[i] is CancellationToken { CanBeCanceled: true } token)
                {
                    tokens.Add(token);
                }
            }
            else
            {
                codecs.Add(plan.WireArgumentCodecs[i + 1]!);
                values.Add(arguments[i]);
            }
        }

        return Payload.Encode(codecs.ToArray(), values.ToArray(), out attachments);
    }
}
