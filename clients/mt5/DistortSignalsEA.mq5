//+------------------------------------------------------------------+
//| DistortSignalsEA.mq5 - reference EA for the DistortSignals        |
//| execution gateway (docs/api/ea-openapi.yaml, docs/gateway.md).    |
//|                                                                  |
//| Polls on OnTimer (never OnTick, so it keeps working without      |
//| ticks), claims each directive before executing it, sends the     |
//| order with the symbol's allowed filling mode, SL/TP, the         |
//| directive's magic and the comment DS:<id>, keeps a persistent    |
//| directive -> ticket record in terminal GlobalVariables and looks |
//| through open positions, orders and deal history before sending,  |
//| so a restart never executes a directive twice; reports the       |
//| retcode; sends heartbeats with its positions.                    |
//|                                                                  |
//| Not compiled in the project's CI (there is no MetaEditor there): |
//| see clients/mt5/README.md.                                       |
//+------------------------------------------------------------------+
#property copyright "DistortSignals"
#property version   "1.00"
#property strict

input string InpBaseUrl       = "http://127.0.0.1:8080"; // Gateway base URL (add it to the WebRequest allow-list)
input string InpApiKey        = "";                      // EA key of this account (scope ea:<account>)
input string InpTerminalId    = "";                      // Terminal id; empty = mt5-<login>
input int    InpPollSeconds   = 5;                       // Poll interval until the gateway says otherwise
input int    InpTimeoutMs     = 5000;                    // WebRequest timeout (the call blocks the EA's only thread)
input int    InpHistoryDays   = 7;                       // How far back the duplicate check looks in deal history

string g_terminal = "";
int    g_pollSeconds = 5;
bool   g_tradingEnabled = true;
string g_breaker = "Closed";
datetime g_lastHeartbeat = 0;

//+------------------------------------------------------------------+
int OnInit()
  {
   if(StringLen(InpApiKey) == 0)
     {
      Print("DistortSignalsEA: set InpApiKey to the account's EA key");
      return(INIT_PARAMETERS_INCORRECT);
     }
   g_terminal = StringLen(InpTerminalId) > 0 ? InpTerminalId : "mt5-" + IntegerToString(AccountInfoInteger(ACCOUNT_LOGIN));
   g_pollSeconds = MathMax(1, InpPollSeconds);
   if(!EventSetTimer(g_pollSeconds))
      return(INIT_FAILED);
   Heartbeat();
   ReportUnreported();
   return(INIT_SUCCEEDED);
  }

void OnDeinit(const int reason)
  {
   EventKillTimer();
   GlobalVariablesFlush();
  }

void OnTick() { }

//+------------------------------------------------------------------+
//| One round: heartbeat when due, then poll and execute.            |
//+------------------------------------------------------------------+
void OnTimer()
  {
   if(TimeLocal() - g_lastHeartbeat >= g_pollSeconds)
      Heartbeat();
   if(!g_tradingEnabled || g_breaker == "Open")
      return;
   if(!TerminalInfoInteger(TERMINAL_TRADE_ALLOWED) || !MQLInfoInteger(MQL_TRADE_ALLOWED))
      return;

   string body;
   // wait=0: WebRequest blocks the EA's only thread, so the EA polls on its timer rather than long-polling.
   if(Http("GET", "/ea/v1/directives?wait=0", "", body) != 200)
      return;
   string items[];
   int n = JsonArrayObjects(body, "directives", items);
   for(int i = 0; i < n; i++)
      Execute(items[i]);
  }

//+------------------------------------------------------------------+
//| Claim, check that it was not executed before, send, report.      |
//+------------------------------------------------------------------+
void Execute(const string d)
  {
   string id       = JsonString(d, "id");
   string symbol   = JsonString(d, "symbol");
   string action   = JsonString(d, "action");
   string side     = JsonString(d, "side");
   string type     = JsonString(d, "orderType");
   double volume   = JsonNumber(d, "volume");
   double price    = JsonNumber(d, "price");
   double sl       = JsonNumber(d, "sl");
   double tp       = JsonNumber(d, "tp");
   long   magic    = (long)JsonNumber(d, "magic");
   int    dev      = (int)JsonNumber(d, "deviationPoints");
   datetime expires = IsoToTime(JsonString(d, "expiresAt"));
   StringToUpper(action); StringToUpper(side); StringToUpper(type);
   string comment  = "DS:" + id;

   if(StringLen(id) == 0 || expires <= TimeGMT())
      return;

   string answer;
   int status = Http("POST", "/ea/v1/directives/" + id + "/claim", "{\"terminalId\":\"" + g_terminal + "\"}", answer);
   if(status != 200)
      return; // another terminal holds it, or it expired or was cancelled

   // A restart between sending and reporting must not send again: the record or the broker's books say it was done.
   ulong done = KnownTicket(id, magic, comment);
   if(done > 0)
     {
      Report(id, "filled", done, volume, DealPrice(done), 10009, "found after restart");
      return;
     }

   if(!SymbolSelect(symbol, true))
     {
      Report(id, "rejected", 0, 0, 0, 10013, "unknown symbol " + symbol);
      return;
     }

   MqlTradeRequest req;
   MqlTradeResult  res;
   ZeroMemory(req);
   ZeroMemory(res);
   int digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
   req.symbol       = symbol;
   req.volume       = NormalizeVolume(symbol, volume);
   req.magic        = (ulong)magic;
   req.comment      = comment;
   req.deviation    = (ulong)MathMax(0, dev);
   req.type_filling = FillingMode(symbol);
   req.sl           = sl > 0 ? NormalizeDouble(sl, digits) : 0;
   req.tp           = tp > 0 ? NormalizeDouble(tp, digits) : 0;
   bool buy = side == "BUY";

   if(action == "CLOSE")
     {
      // Close this EA's positions of the other side on the symbol (on a netting account there is at most one).
      ulong position = FindPosition(symbol, buy ? POSITION_TYPE_SELL : POSITION_TYPE_BUY, magic);
      if(position == 0)
        {
         Report(id, "rejected", 0, 0, 0, 10036, "no open position to close");
         return;
        }
      req.action   = TRADE_ACTION_DEAL;
      req.position = position;
      req.volume   = PositionGetDouble(POSITION_VOLUME);
      req.type     = buy ? ORDER_TYPE_BUY : ORDER_TYPE_SELL;
      req.price    = buy ? SymbolInfoDouble(symbol, SYMBOL_ASK) : SymbolInfoDouble(symbol, SYMBOL_BID);
      req.sl = 0; req.tp = 0;
     }
   else if(type == "LIMIT" || type == "STOP")
     {
      req.action = TRADE_ACTION_PENDING;
      req.price  = NormalizeDouble(price, digits);
      req.type   = type == "LIMIT" ? (buy ? ORDER_TYPE_BUY_LIMIT : ORDER_TYPE_SELL_LIMIT) : (buy ? ORDER_TYPE_BUY_STOP : ORDER_TYPE_SELL_STOP);
      req.type_filling = ORDER_FILLING_RETURN;
      req.type_time = ORDER_TIME_SPECIFIED;
      req.expiration = TimeCurrent() + (expires - TimeGMT());
     }
   else
     {
      req.action = TRADE_ACTION_DEAL;
      req.type   = buy ? ORDER_TYPE_BUY : ORDER_TYPE_SELL;
      req.price  = buy ? SymbolInfoDouble(symbol, SYMBOL_ASK) : SymbolInfoDouble(symbol, SYMBOL_BID);
     }

   // Mark the directive as in flight before sending: a crash now leaves the record, and the history check decides.
   GlobalVariableSet(RecordName(id), -1);
   GlobalVariablesFlush();
   bool sent = OrderSend(req, res);
   uint code = res.retcode;
   if(code == TRADE_RETCODE_TIMEOUT || code == TRADE_RETCODE_CONNECTION)
     {
      // The order may have been executed anyway: look before calling it failed.
      ulong found = KnownTicket(id, magic, comment);
      if(found > 0)
        {
         Remember(id, found);
         Report(id, "filled", found, req.volume, DealPrice(found), 10009, "found after retcode " + IntegerToString(code));
         return;
        }
     }

   ulong ticket = res.deal > 0 ? res.deal : res.order;
   if(code == TRADE_RETCODE_DONE || code == TRADE_RETCODE_PLACED)
     {
      Remember(id, ticket);
      Report(id, "filled", ticket, res.volume > 0 ? res.volume : req.volume, res.price > 0 ? res.price : req.price, code, res.comment);
     }
   else if(code == TRADE_RETCODE_DONE_PARTIAL)
     {
      Remember(id, ticket);
      Report(id, "partial", ticket, res.volume, res.price, code, res.comment);
     }
   else
     {
      GlobalVariableDel(RecordName(id));
      Report(id, IsRejection(code) ? "rejected" : "failed", 0, 0, 0, code, sent ? res.comment : "OrderSend error " + IntegerToString(GetLastError()));
     }
  }

//+------------------------------------------------------------------+
//| Report with a report id fixed per terminal and directive, so a   |
//| report whose answer was lost is simply sent again.               |
//+------------------------------------------------------------------+
void Report(const string id, const string outcome, ulong ticket, double volume, double price, uint retcode, const string message)
  {
   string body = "{\"reportId\":\"" + g_terminal + "-" + id + "\",\"outcome\":\"" + outcome + "\""
                 + ",\"ticket\":" + (ticket > 0 ? IntegerToString((long)ticket) : "null")
                 + ",\"filledVolume\":" + DoubleToString(volume, 8)
                 + ",\"price\":" + (price > 0 ? DoubleToString(price, 8) : "null")
                 + ",\"retcode\":" + IntegerToString(retcode)
                 + ",\"message\":\"" + JsonEscape(message) + "\""
                 + ",\"executedAt\":\"" + TimeToIso(TimeGMT()) + "\"}";
   string answer;
   for(int attempt = 0; attempt < 3; attempt++)
     {
      int status = Http("POST", "/ea/v1/directives/" + id + "/report", body, answer);
      if(status == 200 || status == 409 || status == 400 || status == 404)
        {
         GlobalVariableSet(ReportedName(id), 1);
         GlobalVariablesFlush();
         if(status != 200)
            PrintFormat("DistortSignalsEA: report of %s answered %d: %s", id, status, answer);
         return;
        }
      Sleep(500);
     }
  }

void Heartbeat()
  {
   string positions = "";
   for(int i = PositionsTotal() - 1; i >= 0; i--)
     {
      ulong ticket = PositionGetTicket(i);
      if(ticket == 0)
         continue;
      if(StringLen(positions) > 0)
         positions += ",";
      positions += "{\"ticket\":" + IntegerToString((long)ticket)
                   + ",\"symbol\":\"" + JsonEscape(PositionGetString(POSITION_SYMBOL)) + "\""
                   + ",\"side\":\"" + (PositionGetInteger(POSITION_TYPE) == POSITION_TYPE_BUY ? "buy" : "sell") + "\""
                   + ",\"volume\":" + DoubleToString(PositionGetDouble(POSITION_VOLUME), 8)
                   + ",\"openPrice\":" + DoubleToString(PositionGetDouble(POSITION_PRICE_OPEN), 8)
                   + ",\"sl\":" + OptionalNumber(PositionGetDouble(POSITION_SL))
                   + ",\"tp\":" + OptionalNumber(PositionGetDouble(POSITION_TP))
                   + ",\"profit\":" + DoubleToString(PositionGetDouble(POSITION_PROFIT), 2)
                   + ",\"magic\":" + IntegerToString(PositionGetInteger(POSITION_MAGIC))
                   + ",\"comment\":\"" + JsonEscape(PositionGetString(POSITION_COMMENT)) + "\"}";
     }
   string body = "{\"terminalId\":\"" + g_terminal + "\""
                 + ",\"equity\":" + DoubleToString(AccountInfoDouble(ACCOUNT_EQUITY), 2)
                 + ",\"balance\":" + DoubleToString(AccountInfoDouble(ACCOUNT_BALANCE), 2)
                 + ",\"margin\":" + DoubleToString(AccountInfoDouble(ACCOUNT_MARGIN), 2)
                 + ",\"freeMargin\":" + DoubleToString(AccountInfoDouble(ACCOUNT_MARGIN_FREE), 2)
                 + ",\"positions\":[" + positions + "]"
                 + ",\"serverTime\":\"" + TimeToIso(TimeGMT()) + "\"}";
   string answer;
   if(Http("POST", "/ea/v1/heartbeat", body, answer) != 200)
      return;
   g_lastHeartbeat = TimeLocal();
   g_tradingEnabled = JsonBool(answer, "tradingEnabled");
   g_breaker = JsonString(answer, "breaker");
   int poll = (int)JsonNumber(answer, "pollSeconds");
   if(poll >= 1 && poll != g_pollSeconds)
     {
      g_pollSeconds = poll;
      EventKillTimer();
      EventSetTimer(g_pollSeconds);
     }
  }

//+------------------------------------------------------------------+
//| Idempotency: the record, then positions, orders and deals.       |
//+------------------------------------------------------------------+
string RecordName(const string id) { return "DS." + id; }

string ReportedName(const string id) { return "DSR." + id; }

// After a restart: directives executed (a ticket in the record) whose report never got an answer are reported now.
// The gateway takes a late report even when the claim lapsed meanwhile, because the trade happened.
void ReportUnreported()
  {
   for(int i = GlobalVariablesTotal() - 1; i >= 0; i--)
     {
      string name = GlobalVariableName(i);
      if(StringFind(name, "DS.") != 0)
         continue;
      string id = StringSubstr(name, 3);
      double ticket = GlobalVariableGet(name);
      if(ticket <= 0 || GlobalVariableCheck(ReportedName(id)))
         continue;
      double volume = HistoryDealSelect((ulong)ticket) ? HistoryDealGetDouble((ulong)ticket, DEAL_VOLUME) : 0;
      if(volume > 0)
         Report(id, "filled", (ulong)ticket, volume, DealPrice((ulong)ticket), 10009, "reported after restart");
     }
  }

void Remember(const string id, ulong ticket)
  {
   GlobalVariableSet(RecordName(id), (double)ticket);
   GlobalVariablesFlush();
  }

ulong KnownTicket(const string id, long magic, const string comment)
  {
   if(GlobalVariableCheck(RecordName(id)) && GlobalVariableGet(RecordName(id)) > 0)
      return (ulong)GlobalVariableGet(RecordName(id));
   for(int i = PositionsTotal() - 1; i >= 0; i--)
     {
      ulong t = PositionGetTicket(i);
      if(t > 0 && PositionGetInteger(POSITION_MAGIC) == magic && PositionGetString(POSITION_COMMENT) == comment)
         return t;
     }
   for(int i = OrdersTotal() - 1; i >= 0; i--)
     {
      ulong t = OrderGetTicket(i);
      if(t > 0 && OrderGetInteger(ORDER_MAGIC) == magic && OrderGetString(ORDER_COMMENT) == comment)
         return t;
     }
   if(HistorySelect(TimeCurrent() - InpHistoryDays * 86400, TimeCurrent() + 86400))
     {
      for(int i = HistoryDealsTotal() - 1; i >= 0; i--)
        {
         ulong t = HistoryDealGetTicket(i);
         if(t > 0 && HistoryDealGetInteger(t, DEAL_MAGIC) == magic && HistoryDealGetString(t, DEAL_COMMENT) == comment)
            return t;
        }
      for(int i = HistoryOrdersTotal() - 1; i >= 0; i--)
        {
         ulong t = HistoryOrderGetTicket(i);
         if(t > 0 && HistoryOrderGetInteger(t, ORDER_MAGIC) == magic && HistoryOrderGetString(t, ORDER_COMMENT) == comment
            && HistoryOrderGetInteger(t, ORDER_STATE) == ORDER_STATE_FILLED)
            return t;
        }
     }
   return 0;
  }

double DealPrice(ulong ticket)
  {
   if(HistoryDealSelect(ticket))
      return HistoryDealGetDouble(ticket, DEAL_PRICE);
   if(PositionSelectByTicket(ticket))
      return PositionGetDouble(POSITION_PRICE_OPEN);
   if(OrderSelect(ticket))
      return OrderGetDouble(ORDER_PRICE_OPEN);
   if(HistoryOrderSelect(ticket))
      return HistoryOrderGetDouble(ticket, ORDER_PRICE_OPEN);
   return 0;
  }

ulong FindPosition(const string symbol, ENUM_POSITION_TYPE type, long magic)
  {
   for(int i = PositionsTotal() - 1; i >= 0; i--)
     {
      ulong t = PositionGetTicket(i);
      if(t > 0 && PositionGetString(POSITION_SYMBOL) == symbol && PositionGetInteger(POSITION_TYPE) == type && PositionGetInteger(POSITION_MAGIC) == magic)
         return t;
     }
   return 0;
  }

//+------------------------------------------------------------------+
//| Trading details.                                                 |
//+------------------------------------------------------------------+
ENUM_ORDER_TYPE_FILLING FillingMode(const string symbol)
  {
   // SYMBOL_FILLING_MODE is a set of flags (FOK=1, IOC=2); RETURN is allowed only outside Market execution.
   long flags = SymbolInfoInteger(symbol, SYMBOL_FILLING_MODE);
   if((flags & SYMBOL_FILLING_FOK) == SYMBOL_FILLING_FOK)
      return ORDER_FILLING_FOK;
   if((flags & SYMBOL_FILLING_IOC) == SYMBOL_FILLING_IOC)
      return ORDER_FILLING_IOC;
   return ORDER_FILLING_RETURN;
  }

double NormalizeVolume(const string symbol, double volume)
  {
   double step = SymbolInfoDouble(symbol, SYMBOL_VOLUME_STEP);
   double minLot = SymbolInfoDouble(symbol, SYMBOL_VOLUME_MIN);
   double maxLot = SymbolInfoDouble(symbol, SYMBOL_VOLUME_MAX);
   if(step > 0)
      volume = MathFloor(volume / step + 1e-9) * step;
   return NormalizeDouble(MathMax(minLot, MathMin(maxLot, volume)), 8);
  }

bool IsRejection(uint code)
  {
   // Never worth retrying (reference/trading-anchors.md section 4); everything else counts as a failure.
   switch(code)
     {
      case 10006: case 10007: case 10013: case 10014: case 10015: case 10016: case 10017: case 10018: case 10019:
      case 10022: case 10026: case 10027: case 10030: case 10033: case 10034: case 10036: case 10040: case 10044:
         return true;
     }
   return false;
  }

//+------------------------------------------------------------------+
//| HTTP: WebRequest with the key; returns the status, -1 on error.  |
//+------------------------------------------------------------------+
int Http(const string method, const string path, const string body, string &answer)
  {
   char data[];
   char result[];
   string headers = "Content-Type: application/json\r\nX-API-Key: " + InpApiKey + "\r\n";
   string resultHeaders;
   if(StringLen(body) > 0)
     {
      int n = StringToCharArray(body, data, 0, WHOLE_ARRAY, CP_UTF8);
      ArrayResize(data, n - 1); // drop the terminating NUL
     }
   ResetLastError();
   int status = WebRequest(method, InpBaseUrl + path, headers, InpTimeoutMs, data, result, resultHeaders);
   answer = CharArrayToString(result, 0, WHOLE_ARRAY, CP_UTF8);
   if(status == -1)
      PrintFormat("DistortSignalsEA: %s %s failed, error %d (is %s in the WebRequest allow-list?)", method, path, GetLastError(), InpBaseUrl);
   return status;
  }

//+------------------------------------------------------------------+
//| Minimal JSON for the gateway's flat objects.                      |
//+------------------------------------------------------------------+
int JsonValueStart(const string json, const string key)
  {
   int at = StringFind(json, "\"" + key + "\"");
   if(at < 0)
      return -1;
   at = StringFind(json, ":", at + StringLen(key) + 2);
   if(at < 0)
      return -1;
   at++;
   while(at < StringLen(json) && (StringGetCharacter(json, at) == ' ' || StringGetCharacter(json, at) == '\n' || StringGetCharacter(json, at) == '\r' || StringGetCharacter(json, at) == '\t'))
      at++;
   return at;
  }

string JsonString(const string json, const string key)
  {
   int at = JsonValueStart(json, key);
   if(at < 0 || StringGetCharacter(json, at) != '"')
      return "";
   string value = "";
   for(int i = at + 1; i < StringLen(json); i++)
     {
      ushort c = StringGetCharacter(json, i);
      if(c == '\\' && i + 1 < StringLen(json))
        {
         ushort e = StringGetCharacter(json, ++i);
         if(e == 'n') value += "\n";
         else if(e == 't') value += "\t";
         else if(e == 'r') value += "\r";
         else if(e == 'u' && i + 4 < StringLen(json)) { value += ShortToString(HexToUShort(StringSubstr(json, i + 1, 4))); i += 4; }
         else value += ShortToString(e);
         continue;
        }
      if(c == '"')
         break;
      value += ShortToString(c);
     }
   return value;
  }

// The gateway escapes characters such as '+' as \uXXXX.
ushort HexToUShort(const string hex)
  {
   ushort value = 0;
   for(int i = 0; i < StringLen(hex); i++)
     {
      ushort c = StringGetCharacter(hex, i);
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0;
      value = (ushort)(value * 16 + digit);
     }
   return value;
  }

double JsonNumber(const string json, const string key)
  {
   int at = JsonValueStart(json, key);
   if(at < 0 || StringSubstr(json, at, 4) == "null")
      return 0;
   int end = at;
   while(end < StringLen(json) && StringFind("-+.eE0123456789", ShortToString(StringGetCharacter(json, end))) >= 0)
      end++;
   return StringToDouble(StringSubstr(json, at, end - at));
  }

bool JsonBool(const string json, const string key)
  {
   int at = JsonValueStart(json, key);
   return at >= 0 && StringSubstr(json, at, 4) == "true";
  }

// The top-level objects of the array under key, each as its own text.
int JsonArrayObjects(const string json, const string key, string &items[])
  {
   ArrayResize(items, 0);
   int at = JsonValueStart(json, key);
   if(at < 0 || StringGetCharacter(json, at) != '[')
      return 0;
   int depth = 0, start = -1;
   bool inString = false;
   for(int i = at + 1; i < StringLen(json); i++)
     {
      ushort c = StringGetCharacter(json, i);
      if(inString)
        {
         if(c == '\\') i++;
         else if(c == '"') inString = false;
         continue;
        }
      if(c == '"') inString = true;
      else if(c == '{') { if(depth == 0) start = i; depth++; }
      else if(c == '}') { depth--; if(depth == 0 && start >= 0) { int n = ArraySize(items); ArrayResize(items, n + 1); items[n] = StringSubstr(json, start, i - start + 1); } }
      else if(c == ']' && depth == 0) break;
     }
   return ArraySize(items);
  }

string JsonEscape(const string text)
  {
   string s = text;
   StringReplace(s, "\\", "\\\\");
   StringReplace(s, "\"", "\\\"");
   StringReplace(s, "\n", "\\n");
   StringReplace(s, "\r", "\\r");
   return s;
  }

string OptionalNumber(double value) { return value > 0 ? DoubleToString(value, 8) : "null"; }

// "2026-01-05T10:00:30.512Z" -> datetime (UTC).
datetime IsoToTime(const string iso)
  {
   if(StringLen(iso) < 19)
      return 0;
   string s = StringSubstr(iso, 0, 19);
   StringReplace(s, "-", ".");
   StringReplace(s, "T", " ");
   return StringToTime(s);
  }

string TimeToIso(datetime t)
  {
   string s = TimeToString(t, TIME_DATE | TIME_SECONDS);
   StringReplace(s, ".", "-");
   StringReplace(s, " ", "T");
   return s + "Z";
  }
//+------------------------------------------------------------------+
