namespace Imageimportd.Tests.Unit;

/// <summary>Every awaited task in the unit tests goes through these, so a deadlock fails the test instead of hanging it.</summary>
internal static class TimeoutExtensions
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    public static Task WithTimeout(this Task task) => task.WaitAsync(Limit);

    public static Task<T> WithTimeout<T>(this Task<T> task) => task.WaitAsync(Limit);

    public static Task WithTimeout(this ValueTask task) => task.AsTask().WaitAsync(Limit);

    public static Task<T> WithTimeout<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(Limit);

    /// <summary>Collects an async sequence, under the same limit.</summary>
    public static Task<List<T>> ToListWithTimeout<T>(this IAsyncEnumerable<T> source) => Collect(source).WaitAsync(Limit);

    private static async Task<List<T>> Collect<T>(IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
