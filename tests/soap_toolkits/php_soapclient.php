<?php
// A SOAP toolkit against the emulator: PHP's SoapClient in WSDL mode (SOAP 1.2) binds to the WSDL
// the emulator serves, then calls test.echo, a signed auth.checkToken, and a badly signed one
// whose fault must carry ipernity.error.105. Prints one line per check and one `answer METHOD
// JSON` line with each raw answer; exits 1 on a failure.
//
//     php php_soapclient.php BASE_URL API_KEY SECRET TOKEN

[, $base, $key, $secret, $token] = $argv;

function fail(string $why): never
{
    fwrite(STDERR, $why . "\n");
    exit(1);
}

$client = new SoapClient($base . '/soap?wsdl', [
    'soap_version' => SOAP_1_2,
    'trace' => 1,
    'cache_wsdl' => WSDL_CACHE_NONE,
]);
$functions = $client->__getFunctions();
if (count($functions) !== 1 || !str_contains($functions[0], 'call(')) {
    fail('unexpected operations: ' . implode(', ', $functions));
}
echo "bound: ", $functions[0], "\n";

// Signs as over REST; the xsd:any parameters travel under the key "any" as raw XML.
function call(SoapClient $client, string $key, string $method, array $params, ?string $secret): SimpleXMLElement
{
    $params['api_key'] = $key;
    if ($secret !== null) {
        ksort($params, SORT_STRING);
        $text = '';
        foreach ($params as $name => $value) {
            $text .= $name . $value;
        }
        $params['api_sig'] = md5($text . $method . $secret);
    }
    $any = '';
    foreach ($params as $name => $value) {
        $any .= "<$name>" . htmlspecialchars($value, ENT_XML1) . "</$name>";
    }
    $answer = $client->call(['method' => $method, 'any' => $any]);
    echo "answer $method ", json_encode($client->__getLastResponse()), "\n";
    return new SimpleXMLElement($answer);
}

$echo = call($client, $key, 'test.echo', ['echo' => 'php: é & <ok>'], null);
if ((string) $echo['status'] !== 'ok' || (string) $echo->echo !== 'php: é & <ok>') {
    fail('test.echo: ' . $echo->asXML());
}
echo "test.echo ok\n";

$auth = call($client, $key, 'auth.checkToken', ['auth_token' => $token], $secret);
if ((string) $auth->auth->user['username'] !== 'emulated') {
    fail('auth.checkToken: ' . $auth->asXML());
}
echo "auth.checkToken ok: doc=", $auth->auth->permissions['doc'], "\n";

try {
    call($client, $key, 'auth.checkToken', ['auth_token' => $token], 'not-the-secret');
    fail('a bad signature was accepted');
} catch (SoapFault $fault) {
    echo "answer fault ", json_encode($client->__getLastResponse()), "\n";
    $received = new SimpleXMLElement($client->__getLastResponse());
    $received->registerXPathNamespace('env', 'http://www.w3.org/2003/05/soap-envelope');
    $code = (string) ($received->xpath('//env:Fault/faultcode')[0] ?? '');
    if ($code !== 'ipernity.error.105') {
        fail('fault: ' . $client->__getLastResponse());
    }
    echo "fault ", $code, "\n";
}
