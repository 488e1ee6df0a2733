-- wrk script for bench/run-serve.sh: POST the JSON body of the file named
-- after `--` on wrk's command line (wrk ... -s serve_post.lua URL -- BODY).
function init(args)
	local f = assert(io.open(args[1], "rb"))
	wrk.body = f:read("*a")
	f:close()
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
end
