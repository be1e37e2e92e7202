namespace Imageimportd.Tests.Integration;

internal static class TestTimeouts
{
    /// <summary>Every awaited step of an integration test is bounded, so a hang fails instead of blocking CI.</summary>
    public static Task<T> Bounded<T>(this Task<T> task, int seconds = 120) => task.WaitAsync(TimeSpan.FromSeconds(seconds));

    public static Task Bounded(this Task task, int seconds = 120) => task.WaitAsync(TimeSpan.FromSeconds(seconds));
}
