run ->(_env) { [200, { "content-type" => "text/plain" }, ["puma #{Process.pid}\n"]] }
