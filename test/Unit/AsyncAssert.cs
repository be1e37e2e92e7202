using NUnit.Framework;
namespace Imageimportd.Tests.Unit;

/// <summary>Awaits (under the timeout) and returns the expected exception; any other exception fails the test as it is.</summary>
internal static class AsyncAssert
{
    public static async Task<T> ThrowsAsync<T>(Func<Task> action)
        where T : Exception
    {
        try
        {
            await action().WithTimeout();
        }
        catch (T ex)
        {
            return ex;
        }

        Assert.Fail($"expected {typeof(T).Name}, but nothing was thrown");
        throw new InvalidOperationException("unreachable");
    }
}
