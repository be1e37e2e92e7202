namespace Imageimportd.Content;

/// <summary>Starting a write session that may turn out not to be needed.</summary>
public static class WriterStart
{
    /// <summary>
    /// Runs <paramref name="start"/> on <paramref name="writer"/>: the writer when it answers true; null, the writer
    /// disposed, when it answers false (the store has the content); the writer disposed when it throws.
    /// </summary>
    public static async ValueTask<T?> KeepIfAsync<T>(T writer, Func<T, ValueTask<bool>> start)
        where T : class, IAsyncDisposable
    {
        try
        {
            if (await start(writer))
            {
                return writer;
            }
        }
        catch
        {
            await writer.DisposeAsync();
            throw;
        }

        await writer.DisposeAsync();
        return null;
    }
}
