package io.portico.server.admin;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A headless Chromium driven over the Chrome DevTools Protocol with the JDK's WebSocket client:
 * navigate, evaluate JavaScript, collect console errors and uncaught exceptions, take screenshots.
 * Just enough CDP for the dashboard test; no browser-driver dependency.
 */
final class DevTools implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("DevTools listening on (ws://\\S+)");
    private static final Pattern PAGE_URL = Pattern.compile(
            "\"type\"\\s*:\\s*\"page\"[^}]*?\"webSocketDebuggerUrl\"\\s*:\\s*\"([^\"]+)\"", Pattern.DOTALL);

    private final Process process;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<String>> pending = new ConcurrentHashMap<>();
    private final List<String> errors = new CopyOnWriteArrayList<>();

    private DevTools(Process process, WebSocket socket) {
        this.process = process;
        this.socket = socket;
    }

    /** The Chromium binary, or null when none is installed. */
    static Path findChromium() {
        for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
            Path p = Path.of(candidate);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    static DevTools launch(Path chromium, Path profile) throws Exception {
        Process p = new ProcessBuilder(chromium.toString(), "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                "--remote-debugging-port=0", "--user-data-dir=" + profile, "--window-size=1400,1000", "about:blank")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            String browserUrl = readDevToolsUrl(p);
            URI browser = URI.create(browserUrl);
            HttpClient http = HttpClient.newHttpClient();
            String list = http.send(HttpRequest.newBuilder(URI.create("http://" + browser.getHost() + ":"
                    + browser.getPort() + "/json/list")).build(), HttpResponse.BodyHandlers.ofString()).body();
            Matcher m = PAGE_URL.matcher(list);
            if (!m.find()) {
                throw new IllegalStateException("no page target in " + list);
            }
            Receiver receiver = new Receiver();
            WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create(m.group(1)), receiver).get(20, TimeUnit.SECONDS);
            DevTools tools = new DevTools(p, ws);
            receiver.tools = tools;
            tools.call("Runtime.enable", "{}");
            tools.call("Log.enable", "{}");
            tools.call("Page.enable", "{}");
            return tools;
        } catch (Exception | Error e) {
            p.destroyForcibly();
            throw e;
        }
    }

    private static String readDevToolsUrl(Process p) throws Exception {
        CompletableFuture<String> url = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        url.complete(m.group(1));
                    }
                }
                url.completeExceptionally(new IllegalStateException("chromium exited: " + p.waitFor()));
            } catch (IOException | InterruptedException e) {
                url.completeExceptionally(e);
            }
        }, "chromium-stderr");
        reader.setDaemon(true);
        reader.start();
        return url.get(60, TimeUnit.SECONDS);
    }

    /** Sends a command and waits for its answer (the raw JSON message). */
    String call(String method, String paramsJson) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<String> answer = new CompletableFuture<>();
        pending.put(id, answer);
        socket.sendText("{\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":" + paramsJson + "}", true).join();
        String reply = answer.get(30, TimeUnit.SECONDS);
        if (reply.contains("\"error\":{")) {
            throw new IllegalStateException(method + " failed: " + reply);
        }
        return reply;
    }

    void navigate(String url) throws Exception {
        call("Page.navigate", "{\"url\":\"" + url + "\"}");
    }

    /** Evaluates {@code expression}, which must produce a string, and returns it. */
    String evaluateString(String expression) throws Exception {
        String reply = call("Runtime.evaluate", "{\"expression\":" + quote(expression) + ",\"returnByValue\":true}");
        Matcher m = Pattern.compile("\"value\":\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(reply);
        if (!m.find()) {
            throw new IllegalStateException("no string value in " + reply);
        }
        return unquote(m.group(1));
    }

    void screenshot(Path file) throws Exception {
        String reply = call("Page.captureScreenshot", "{\"format\":\"png\"}");
        Matcher m = Pattern.compile("\"data\":\"([^\"]+)\"").matcher(reply);
        if (!m.find()) {
            throw new IllegalStateException("no screenshot in " + reply.substring(0, Math.min(200, reply.length())));
        }
        Files.createDirectories(file.getParent());
        Files.write(file, Base64.getDecoder().decode(m.group(1)));
    }

    /** Console errors, uncaught exceptions and error log entries seen so far. */
    List<String> errors() {
        return List.copyOf(errors);
    }

    private void onMessage(String json) {
        Matcher id = Pattern.compile("^\\{\"id\":(\\d+)").matcher(json);
        if (id.find()) {
            CompletableFuture<String> f = pending.remove(Integer.parseInt(id.group(1)));
            if (f != null) {
                f.complete(json);
            }
            return;
        }
        if (json.contains("\"method\":\"Runtime.exceptionThrown\"")
                || (json.contains("\"method\":\"Runtime.consoleAPICalled\"") && json.contains("\"type\":\"error\""))
                || (json.contains("\"method\":\"Log.entryAdded\"") && json.contains("\"level\":\"error\""))) {
            errors.add(json);
        }
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                default -> sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    private static String unquote(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                switch (n) {
                    case 'n' -> sb.append('\n');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        sb.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                        i += 4;
                    }
                    default -> sb.append(n);
                }
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        try {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "").get(5, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // the browser goes away below either way
        }
        // Chromium's helpers (zygote, renderer, GPU, crash handler) keep writing to the profile
        // folder for a moment after the main process: wait for every one of them, or the test's
        // temporary folder cannot be deleted (it failed a CI run that way).
        java.util.List<ProcessHandle> family = new java.util.ArrayList<>(process.descendants().toList());
        family.add(process.toHandle());
        process.destroy();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (ProcessHandle p : family) {
            try {
                p.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException late) {
                p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        for (ProcessHandle p : family) {
            if (p.isAlive()) {
                p.destroyForcibly();
                try {
                    p.onExit().get(5, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException stuck) {
                    // nothing more to do: a process SIGKILL cannot end within 5 s is the kernel's
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private static final class Receiver implements WebSocket.Listener {
        private final StringBuilder text = new StringBuilder();
        volatile DevTools tools;

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                String message = text.toString();
                text.setLength(0);
                // Set before the first command is sent, and nothing arrives unasked before that.
                tools.onMessage(message);
            }
            ws.request(1);
            return null;
        }
    }
}
