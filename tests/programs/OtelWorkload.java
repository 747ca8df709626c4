import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.trace.Span;
import java.io.BufferedReader;
import java.io.InputStreamReader;

/**
 * ZlibWorkload's leaks beside the OpenTelemetry Java agent. Commands on stdin: {@code leaky}
 * runs ZlibWorkload's leaky workload (its lines are the culprits), then prints {@code done};
 * {@code span} starts and ends a span through the OpenTelemetry API and prints {@code span valid}
 * when the agent's SDK made it (the API alone makes invalid, no-op spans: {@code span invalid});
 * {@code exit} ends. Compiled with ZlibWorkload, against opentelemetry-api.
 */
public class OtelWorkload {
    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.equals("leaky")) {
                ZlibWorkload.leaky();
                ZlibWorkload.settle();
                System.out.println("done");
            } else if (line.equals("span")) {
                Span span = GlobalOpenTelemetry.getTracer("unclosed-tests").spanBuilder("request").startSpan();
                span.end();
                System.out.println(span.getSpanContext().isValid() ? "span valid" : "span invalid");
            } else if (line.equals("exit")) {
                return;
            }
        }
    }
}
