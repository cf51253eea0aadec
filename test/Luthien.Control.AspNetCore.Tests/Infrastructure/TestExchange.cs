using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using NSubstitute;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>
/// One HTTP exchange for unit tests of the host's pieces, without a server: the request as given, the response body in
/// memory, whether the response has started (as a server says once bytes went out) and whether the connection was cut.
/// </summary>
internal sealed class TestExchange
{
    private readonly ResponseFeature _response = new();
    private readonly LifetimeFeature _lifetime = new();

    public TestExchange(string method = "POST", string path = "/v1/chat/completions", string? body = null, bool declareLength = true)
    {
        Context = new DefaultHttpContext();
        Context.Features.Set<IHttpResponseFeature>(_response);
        Context.Features.Set<IHttpRequestLifetimeFeature>(_lifetime);
        Context.Request.Method = method;
        Context.Request.Path = path;
        if (body is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            Context.Request.Body = new MemoryStream(bytes);
            if (declareLength)
            {
                Context.Request.ContentLength = bytes.Length;
            }
        }

        ResponseBody = new ResponseStream(_response);
        Context.Response.Body = ResponseBody;
    }

    public DefaultHttpContext Context { get; }

    public ResponseStream ResponseBody { get; }

    public bool Aborted => _lifetime.Aborted;

    public string ResponseText => Encoding.UTF8.GetString(ResponseBody.ToArray());

    /// <summary>The options as a monitor, for the pieces that read the current options.</summary>
    public static IOptionsMonitor<LuthienOptions> Monitor(LuthienOptions? options = null)
    {
        var monitor = Substitute.For<IOptionsMonitor<LuthienOptions>>();
        monitor.CurrentValue.Returns(options ?? new LuthienOptions());
        return monitor;
    }

    /// <summary>The client's side of the response: counts writes and flushes; the first write starts the response.</summary>
    internal sealed class ResponseStream(ResponseFeature response) : MemoryStream
    {
        public int Writes { get; private set; }

        public int Flushes { get; private set; }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Start();
            base.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Start();
            return base.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Start();
            return base.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Flushes++;
            response.Started = true;
            return base.FlushAsync(cancellationToken);
        }

        private void Start()
        {
            Writes++;
            response.Started = true;
        }
    }

    internal sealed class ResponseFeature : IHttpResponseFeature
    {
        public bool Started { get; set; }

        public int StatusCode { get; set; } = 200;

        public string? ReasonPhrase { get; set; }

        public IHeaderDictionary Headers { get; set; } = new HeaderDictionary();

        public Stream Body { get; set; } = Stream.Null;

        public bool HasStarted => Started;

        public void OnStarting(Func<object, Task> callback, object state)
        {
        }

        public void OnCompleted(Func<object, Task> callback, object state)
        {
        }
    }

    private sealed class LifetimeFeature : IHttpRequestLifetimeFeature
    {
        public bool Aborted { get; private set; }

        public CancellationToken RequestAborted { get; set; }

        public void Abort() => Aborted = true;
    }
}
