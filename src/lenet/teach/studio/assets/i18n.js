// LeNet-5 studio: the page's words in English and Korean. STRINGS holds every text a learner
// reads (key -> {en, ko}; fields in braces, {name}, are filled in after the translation);
// index.html marks its own with data-i18n (the text), data-i18n-html (markup), data-i18n-aria-label
// and data-i18n-title, and keeps its English, which STRINGS repeats (tests/teach/test_studio_i18n.py
// checks both, and that every key has en and ko). The language: ?lang= in the address, else the
// bundle's (lenet studio --lang, or LENET_LANG), else the browser's languages, else English; a
// text missing in it is shown in English. Loaded first: the other scripts call _t(key, values).
"use strict";

const STRINGS = {
  "skip": {"en": "Skip to the maps", "ko": "맵으로 건너뛰기"},
  "page.title": {"en": "LeNet-5 studio", "ko": "LeNet-5 스튜디오"},
  "header.sub": {"en": "LeCun, Bottou, Bengio and Haffner, \"Gradient-Based Learning Applied to Document Recognition\" (Proc. IEEE, 1998): the paper's network, as it reads your digit.", "ko": "LeCun, Bottou, Bengio, Haffner, \"Gradient-Based Learning Applied to Document Recognition\" (Proc. IEEE, 1998): 논문의 네트워크가 여러분이 쓴 숫자를 읽는 모습."},
  "lecture": {"en": "Lecture mode", "ko": "강의 모드"},
  "draw.title": {"en": "Draw", "ko": "그리기"},
  "draw.clear": {"en": "Clear", "ko": "지우기"},
  "draw.camera": {"en": "Camera", "ko": "카메라"},
  "test.label": {"en": "test image", "ko": "테스트 이미지"},
  "test.show": {"en": "Show", "ko": "보기"},
  "test.random": {"en": "Random", "ko": "무작위"},
  "test.wrong": {"en": "Misclassified", "ko": "오분류"},
  "latency": {"en": "stroke to updated page:", "ko": "획에서 화면 갱신까지:"},
  "answer.title": {"en": "Answer", "ko": "답"},
  "answer.paper": {"en": "the paper's network: the class of the smallest penalty", "ko": "논문의 네트워크: 벌점이 가장 작은 클래스"},
  "answer.unsure": {"en": "unsure", "ko": "불확실"},
  "answer.modern": {"en": "the modern network, for comparison:", "ko": "비교용 현대 네트워크:"},
  "forward.tab.paper": {"en": "the paper's network", "ko": "논문의 네트워크"},
  "forward.tab.modern": {"en": "the modern network (comparison)", "ko": "현대 네트워크 (비교)"},
  "forward.note": {"en": "Colour: blue negative, white 0, orange positive, on the range in each title (the squashing function's for the paper's layers); the penalties from 0 (white) up. Click a unit, or Tab to a map, move with the arrow keys and press Enter, to see how it is computed.", "ko": "색: 파랑은 음수, 흰색은 0, 주황은 양수이며, 범위는 각 제목에 있습니다 (논문의 층은 스쿼싱 함수의 범위). 벌점은 0(흰색)부터 커집니다. 유닛을 클릭하거나, Tab으로 맵에 가서 화살표 키로 움직이고 Enter를 누르면 그 유닛의 계산 과정을 볼 수 있습니다."},
  "forward.modern": {"en": "Not the paper's: the seed's variant (swish, max pooling, softmax; input 28x28, raw pixels 0..255, as its recipe preprocesses them).", "ko": "논문의 네트워크가 아닙니다: seed 레시피의 변형 (swish, 최대 풀링, 소프트맥스; 입력 28x28, 레시피의 전처리대로 원래 픽셀 값 0..255)."},
  "unit.title": {"en": "One unit, computed", "ko": "유닛 하나의 계산"},
  "unit.note": {"en": "Click a unit of any map above (or focus a map and press Enter).", "ko": "위 맵에서 아무 유닛이나 클릭하세요 (또는 맵에 포커스를 두고 Enter)."},
  "backward.note": {"en": "Choose the correct label (a test image chooses its own): the loss for it, and each layer's dE/d(state) beside its state, each on its own scale (given in its title); blue negative, orange positive.", "ko": "정답 레이블을 고르세요 (테스트 이미지는 자기 레이블을 고릅니다): 그 레이블에 대한 손실과, 각 층의 상태 옆에 그 상태에 대한 dE/d(상태)를 각자의 눈금(제목에 표시)으로 보여 줍니다. 파랑은 음수, 주황은 양수."},
  "train.start": {"en": "Start", "ko": "시작"},
  "train.pause": {"en": "Pause", "ko": "일시 정지"},
  "train.step1": {"en": "Step 1", "ko": "1단계"},
  "train.step100": {"en": "Step 100", "ko": "100단계"},
  "train.steppass": {"en": "Step a pass", "ko": "한 패스"},
  "train.stop": {"en": "Stop and save", "ko": "멈추고 저장"},
  "train.notstarted": {"en": "not started", "ko": "시작 전"},
  "train.curve.title": {"en": "Running loss and error (training patterns)", "ko": "이동 평균 손실과 오류율 (학습 패턴)"},
  "train.current.title": {"en": "The digit just trained", "ko": "방금 학습한 숫자"},
  "kernels.note": {"en": "C1's six 5x5 kernels; C3's, one row per S2 map and one column per C3 map, a blank cell where Table I leaves the pair unconnected. Each layer on its own scale.", "ko": "C1의 5x5 커널 여섯 개; C3의 커널은 S2 맵마다 한 행, C3 맵마다 한 열이며, 표 I이 연결하지 않는 쌍은 빈칸입니다. 층마다 자기 눈금을 씁니다."},
  "footer": {"en": "lenet studio: everything on this page is computed in this browser by lenet's C core, compiled to WebAssembly.", "ko": "lenet 스튜디오: 이 페이지의 모든 값은 WebAssembly로 컴파일한 lenet의 C 코어가 이 브라우저에서 계산합니다."},
  "steps.title": {"en": "Preprocessing <span class=\"ref\">Section III.A</span>", "ko": "전처리 <span class=\"ref\">III.A절</span>"},
  "steps.note": {"en": "As MNIST was made: the ink's bounding box scaled to fit 20x20 (aspect kept), centred by its centre of mass in 28x28; then as the paper does: padded to 32x32, background <span data-input=\"background\"></span>, ink <span data-input=\"ink\"></span> (x = <span data-input=\"background\"></span> + <span data-input=\"span\"></span> p / 255).", "ko": "MNIST를 만든 방식대로: 잉크의 경계 상자를 20x20에 맞게 비율을 유지하며 축소하고, 28x28 안에서 질량 중심으로 가운데에 놓습니다. 그다음 논문의 방식대로: 32x32로 채우고, 배경 <span data-input=\"background\"></span>, 잉크 <span data-input=\"ink\"></span> (x = <span data-input=\"background\"></span> + <span data-input=\"span\"></span> p / 255)."},
  "answer.output": {"en": "Output: ten Euclidean RBF penalties <span class=\"ref\">Section II.B, y<sub>i</sub> = &Sigma;<sub>j</sub> (x<sub>j</sub> - w<sub>ij</sub>)<sup>2</sup></span>", "ko": "출력: 유클리드 RBF 벌점 열 개 <span class=\"ref\">II.B절, y<sub>i</sub> = &Sigma;<sub>j</sub> (x<sub>j</sub> - w<sub>ij</sub>)<sup>2</sup></span>"},
  "answer.f6": {"en": "F6 as the 7x12 bitmap, beside the nearest prototypes <span class=\"ref\">Figure 3</span>", "ko": "7x12 비트맵으로 본 F6과 가장 가까운 프로토타입들 <span class=\"ref\">그림 3</span>"},
  "forward.title": {"en": "Forward: every layer's maps <span class=\"ref\">Section II.B, Figure 2</span>", "ko": "순방향: 모든 층의 특성 맵 <span class=\"ref\">II.B절, 그림 2</span>"},
  "backward.title": {"en": "Backward: the gradients of the loss <span class=\"ref\">Section II.C, Appendix</span>", "ko": "역방향: 손실의 경사 <span class=\"ref\">II.C절, 부록</span>"},
  "train.title": {"en": "Train live <span class=\"ref\">Section III.C, Appendix C</span>", "ko": "실시간 학습 <span class=\"ref\">III.C절, 부록 C</span>"},
  "train.steps.title": {"en": "SDLM's step sizes &epsilon;<sub>k</sub> = &eta; / (&mu; + h<sub>kk</sub>)", "ko": "SDLM의 단계 크기 &epsilon;<sub>k</sub> = &eta; / (&mu; + h<sub>kk</sub>)"},
  "kernels.title": {"en": "Kernels <span class=\"ref\">C1, and C3 laid out as Table I</span>", "ko": "커널 <span class=\"ref\">C1, 그리고 표 I 모양으로 놓은 C3</span>"},
  "draw.pad.label": {"en": "Drawing pad: draw a digit with a mouse, a pen or a finger. From the keyboard, show a test image by its index below.", "ko": "그리기 판: 마우스, 펜, 손가락으로 숫자를 그리세요. 키보드로는 아래에서 번호로 테스트 이미지를 보여 줄 수 있습니다."},
  "draw.pad.title": {"en": "draw a digit with the mouse, a pen or a finger", "ko": "마우스, 펜, 손가락으로 숫자를 그리세요"},
  "camera": {"en": "camera", "ko": "카메라"},
  "answer.penalties": {"en": "penalties", "ko": "벌점"},
  "forward.tabs": {"en": "network whose maps are shown", "ko": "맵을 보여 줄 네트워크"},
  "backward.labels": {"en": "the correct label", "ko": "정답 레이블"},
  "train.model": {"en": "network to train", "ko": "학습할 네트워크"},
  "train.curve.empty": {"en": "running loss and error: no training yet", "ko": "이동 평균 손실과 오류율: 아직 학습하지 않음"},
  "train.steps.label": {"en": "SDLM's step sizes per layer", "ko": "층별 SDLM 단계 크기"},
  "train.current.label": {"en": "the outputs for the digit just trained", "ko": "방금 학습한 숫자에 대한 출력"},
  "announce": {"en": "{source}: the paper's network reads {paper}; the modern network reads {modern}.", "ko": "{source}: 논문의 네트워크는 {paper}, 현대 네트워크는 {modern}(으)로 읽습니다."},
  "announce.unsure": {"en": "{source}: the paper's network reads {paper}, unsure; the modern network reads {modern}.", "ko": "{source}: 논문의 네트워크는 {paper}(불확실), 현대 네트워크는 {modern}(으)로 읽습니다."},
  "answer.unsure.why": {"en": "unsure: the two smallest penalties differ by {gap}, less than {threshold}", "ko": "불확실: 가장 작은 두 벌점의 차이가 {gap}으로, {threshold}보다 작습니다"},
  "bars.alt": {"en": "{caption}: {values}; the answer {best}", "ko": "{caption}: {values}; 답 {best}"},
  "bars.answer": {"en": "the answer", "ko": "답"},
  "bars.label": {"en": "label", "ko": "레이블"},
  "bars.label.n": {"en": "label {label}", "ko": "레이블 {label}"},
  "bars.penalties": {"en": "penalty y_i, from 0 to {top}", "ko": "벌점 y_i, 0부터 {top}까지"},
  "camera.ink": {"en": "camera: too much ink, hold a digit on plain paper closer", "ko": "카메라: 잉크가 너무 많습니다. 흰 종이에 쓴 숫자를 더 가까이 대세요"},
  "camera.threshold": {"en": "camera: dark pixels below grey {grey} read as ink", "ko": "카메라: 회색 {grey}보다 어두운 픽셀을 잉크로 읽습니다"},
  "curve.alt": {"en": "after {seen} patterns: running loss {loss}, error {error} %", "ko": "패턴 {seen}개 후: 이동 평균 손실 {loss}, 오류율 {error} %"},
  "curve.dashed": {"en": "(dashed)", "ko": "(점선)"},
  "curve.empty": {"en": "no training yet", "ko": "아직 학습하지 않음"},
  "curve.error": {"en": "error", "ko": "오류율"},
  "curve.loss": {"en": "loss {loss}", "ko": "손실 {loss}"},
  "curve.seen": {"en": "patterns trained", "ko": "학습한 패턴 수"},
  "download": {"en": "no server here: the weights were downloaded as {name} (lenet studio --import {name} makes it a run folder)", "ko": "서버가 없습니다: 가중치를 {name}(으)로 내려받았습니다 (lenet studio --import {name}으로 실행 폴더를 만들 수 있습니다)"},
  "error.camera": {"en": "the camera is not available: {error}", "ko": "카메라를 쓸 수 없습니다: {error}"},
  "error.checkpoint": {"en": "the checkpoint was not written: {error}", "ko": "체크포인트를 저장하지 못했습니다: {error}"},
  "error.decompress": {"en": "this browser cannot decompress the MNIST files (no DecompressionStream)", "ko": "이 브라우저는 MNIST 파일의 압축을 풀 수 없습니다 (DecompressionStream 없음)"},
  "error.draw": {"en": "draw a digit first", "ko": "먼저 숫자를 그리세요"},
  "error.empty": {"en": "the drawing is empty: draw a digit first", "ko": "그림이 비어 있습니다: 먼저 숫자를 그리세요"},
  "error.file": {"en": "this page reads its files with fetch(), which a browser refuses for a page opened from a folder (file://): serve the folder, for example with python -m http.server -d FOLDER, and open the address it prints", "ko": "이 페이지는 fetch()로 파일을 읽는데, 브라우저는 폴더에서 연 페이지(file://)에는 이를 허용하지 않습니다: 예를 들어 python -m http.server -d FOLDER로 폴더를 서비스하고, 출력되는 주소를 여세요"},
  "error.index": {"en": "index must be 0..{last}, got {index}", "ko": "번호는 0..{last}이어야 하는데, {index}이(가) 주어졌습니다"},
  "error.notrain": {"en": "no training images", "ko": "학습 이미지가 없습니다"},
  "error.notstarted": {"en": "the engine has not started yet", "ko": "엔진이 아직 시작되지 않았습니다"},
  "error.nowrong": {"en": "the network classifies every test digit correctly", "ko": "네트워크가 모든 테스트 숫자를 올바르게 분류합니다"},
  "error.training": {"en": "training failed: {message}", "ko": "학습이 실패했습니다: {message}"},
  "error.worker": {"en": "the training worker did not start", "ko": "학습 워커가 시작되지 않았습니다"},
  "f6.alt": {"en": "F6 states as the 7x12 bitmap", "ko": "7x12 비트맵으로 본 F6의 상태"},
  "f6.caption": {"en": "F6 states", "ko": "F6의 상태"},
  "f6.prototype": {"en": "prototype {k}: y = {y}", "ko": "프로토타입 {k}: y = {y}"},
  "f6.prototype.alt": {"en": "prototype of class {k}, penalty {y}", "ko": "클래스 {k}의 프로토타입, 벌점 {y}"},
  "f6.scale": {"en": "One colour scale for F6 and the prototypes: {low} .. {high}, blue negative, white 0, orange positive; one square per unit.", "ko": "F6과 프로토타입에 같은 색 눈금: {low} .. {high}, 파랑은 음수, 흰색은 0, 주황은 양수; 한 칸이 유닛 하나."},
  "grad.map": {"en": "{title}, map {k}", "ko": "{title}, 맵 {k}"},
  "grid.as": {"en": "as {rows}x{cols}", "ko": "{rows}x{cols}로 배열"},
  "grid.f6": {"en": "as the 7x12 bitmap", "ko": "7x12 비트맵으로"},
  "kernels.c1": {"en": "C1 (±{scale})", "ko": "C1 (±{scale})"},
  "kernels.c1.alt": {"en": "C1 kernel {m}", "ko": "C1 커널 {m}"},
  "kernels.c3": {"en": "C3 laid out as Table I (±{scale}): rows S2 maps, columns C3 maps", "ko": "표 I 모양으로 놓은 C3 (±{scale}): 행은 S2 맵, 열은 C3 맵"},
  "kernels.grad.c1": {"en": "dE/dW of C1 (±{scale})", "ko": "C1의 dE/dW (±{scale})"},
  "kernels.grad.c1.alt": {"en": "dE/dW of C1 kernel {m}", "ko": "C1 커널 {m}의 dE/dW"},
  "kernels.grad.c3": {"en": "dE/dW of C3 laid out as Table I (±{scale}): rows S2 maps, columns C3 maps", "ko": "표 I 모양으로 놓은 C3의 dE/dW (±{scale}): 행은 S2 맵, 열은 C3 맵"},
  "kind.convolution": {"en": "convolution", "ko": "합성곱"},
  "kind.full": {"en": "full connection", "ko": "완전 연결"},
  "kind.rbf": {"en": "rbf", "ko": "RBF 유닛"},
  "kind.subsampling": {"en": "subsampling", "ko": "서브샘플링"},
  "loss": {"en": "loss {equation} ({name}): E = {loss} for label {label}", "ko": "손실 {equation} ({name}): 레이블 {label}에 대해 E = {loss}"},
  "map.label": {"en": "{network}, {name}, {where}, {scale}{value}. Arrow keys move, Enter shows its computation.", "ko": "{network}, {name}, {where}, {scale}{value}. 화살표 키로 움직이고, Enter로 계산 과정을 봅니다."},
  "map.unit": {"en": "; unit {unit}: {value}", "ko": "; 유닛 {unit}: {value}"},
  "map.units": {"en": "{units} units drawn as {rows} by {cols}", "ko": "유닛 {units}개를 {rows}x{cols}로 그림"},
  "map.where": {"en": "map {map} of {maps}, {rows} by {cols} units", "ko": "맵 {maps}개 중 {map}번, {rows}x{cols} 유닛"},
  "network.info": {"en": "the paper's network: {paper}; the modern network: {modern}", "ko": "논문의 네트워크: {paper}; 현대 네트워크: {modern}"},
  "network.modern": {"en": "the modern network", "ko": "현대 네트워크"},
  "network.paper": {"en": "the paper's network", "ko": "논문의 네트워크"},
  "recipe.paper": {"en": "the paper's recipe, SDLM, one pattern per update", "ko": "논문의 레시피, SDLM, 갱신마다 패턴 하나"},
  "recipe.seed": {"en": "the seed's recipe", "ko": "seed 레시피"},
  "scale.colour": {"en": "colour scale {low} .. {high}", "ko": "색 눈금 {low} .. {high}"},
  "scale.penalties": {"en": "penalties, colour scale 0 .. {limit} (white 0)", "ko": "벌점, 색 눈금 0 .. {limit} (흰색 0)"},
  "source.camera": {"en": "the camera", "ko": "카메라"},
  "source.drawing": {"en": "your drawing", "ko": "여러분의 그림"},
  "source.test": {"en": "test image {index}, label {label}", "ko": "테스트 이미지 {index}, 레이블 {label}"},
  "state.failed": {"en": "failed", "ko": "실패"},
  "state.finished": {"en": "finished", "ko": "완료"},
  "state.paused": {"en": "paused", "ko": "일시 정지"},
  "state.running": {"en": "running", "ko": "학습 중"},
  "state.saving": {"en": "saving", "ko": "저장 중"},
  "state.stopped": {"en": "stopped", "ko": "멈춤"},
  "status": {"en": "{state} · pass {pass} of {passes} · {step} of {steps} steps · {seen} patterns in all · {rate} patterns/s", "ko": "{state} · 패스 {passes}회 중 {pass}회 · 단계 {steps}개 중 {step}개 · 전체 패턴 {seen}개 · 초당 패턴 {rate}개"},
  "status.checkpoint": {"en": " · checkpoint: {path}", "ko": " · 체크포인트: {path}"},
  "status.idle": {"en": "not started ({model}: {recipe})", "ko": "시작 전 ({model}: {recipe})"},
  "status.running": {"en": " · running loss {loss}, error {error} %", "ko": " · 이동 평균 손실 {loss}, 오류율 {error} %"},
  "status.test": {"en": " · test error after pass {pass}: {error} %", "ko": " · 패스 {pass} 후 테스트 오류율: {error} %"},
  "steps.box": {"en": "the ink's bounding box", "ko": "잉크의 경계 상자"},
  "steps.centred": {"en": "28x28, centred by mass", "ko": "28x28, 질량 중심으로 가운데 정렬"},
  "steps.count": {"en": "count (sqrt)", "ko": "개수 (제곱근)"},
  "steps.input": {"en": "32x32 input, {low} .. {high}", "ko": "32x32 입력, {low} .. {high}"},
  "steps.none": {"en": "SDLM sets them at the start of each pass (paper recipe only)", "ko": "SDLM이 패스마다 처음에 정합니다 (논문 레시피에서만)"},
  "steps.resized": {"en": "scaled to fit 20x20", "ko": "20x20에 맞게 축소"},
  "train.modern": {"en": "train the modern network (the seed's recipe)", "ko": "현대 네트워크 학습 (seed 레시피)"},
  "train.paper": {"en": "train the paper's network (SDLM)", "ko": "논문의 네트워크 학습 (SDLM)"},
  "unit.engine": {"en": "the engine computed a = {a}, y = {y}", "ko": "엔진이 계산한 값: a = {a}, y = {y}"},
  "unit.f6": {"en": "F6 states x_j", "ko": "F6 상태 x_j"},
  "unit.full": {"en": "a = sum of the products + bias = {sum} + {bias} = {a}", "ko": "a = 곱의 합 + 편향 = {sum} + {bias} = {a}"},
  "unit.heading": {"en": "{network}, {layer} unit {unit} ({kind})", "ko": "{network}, {layer} 유닛 {unit} ({kind})"},
  "unit.inputs": {"en": "inputs x_j", "ko": "입력 x_j"},
  "unit.kernel": {"en": "x kernel", "ko": "x 커널"},
  "unit.max": {"en": "a = max of the window = {a}", "ko": "a = 윈도의 최댓값 = {a}"},
  "unit.products": {"en": "= products, sum {sum}", "ko": "= 곱, 합 {sum}"},
  "unit.products.full": {"en": "products w_j x_j", "ko": "곱 w_j x_j"},
  "unit.prototype": {"en": "prototype w_ij", "ko": "프로토타입 w_ij"},
  "unit.rbf": {"en": "y_{i} = sum of the {count} terms = {a}", "ko": "y_{i} = 항 {count}개의 합 = {a}"},
  "unit.spoken": {"en": "{layer} unit {unit}: a = {a}, y = {y}; its computation is under the maps.", "ko": "{layer} 유닛 {unit}: a = {a}, y = {y}; 계산 과정은 맵 아래에 있습니다."},
  "unit.subsample": {"en": "a = coefficient x (window sum) + bias = {coefficient} x {sum} + {bias} = {a}", "ko": "a = 계수 x (윈도 합) + 편향 = {coefficient} x {sum} + {bias} = {a}"},
  "unit.table1": {"en": "Table I connects this map to S2 maps {maps} only.", "ko": "표 I은 이 맵을 S2 맵 {maps}에만 연결합니다."},
  "unit.weights": {"en": "weights w_j", "ko": "가중치 w_j"},
  "unit.window2": {"en": "the 2x2 window", "ko": "2x2 윈도"},
  "unit.window5": {"en": "input map {map}: the 5x5 window", "ko": "입력 맵 {map}: 5x5 윈도"}
};

const I18N = (() => {
  const LANGUAGES = ["en", "ko"];
  const code = (tag) => String(tag || "").toLowerCase().split(/[-_]/)[0];
  const asked = () => new URLSearchParams(window.location.search).get("lang");
  // the first of the tags that names a language the page has
  function choose(...tags) {
    for (const tag of tags) if (LANGUAGES.includes(code(tag))) return code(tag);
    return "en";
  }
  const browser = () => navigator.languages || [navigator.language];
  const bundled = () => (window.LENET_BUNDLE && window.LENET_BUNDLE.lang) || null;
  let language = choose(asked(), bundled(), ...browser());

  function text(key, values) {
    const entry = STRINGS[key];
    const template = entry ? entry[language] || entry.en : key;
    return values ? template.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all)) : template;
  }

  // the page's own texts in `language`; <html lang> and the title too
  function apply() {
    document.documentElement.lang = language;
    document.title = text("page.title");
    document.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = text(e.dataset.i18n); });
    document.querySelectorAll("[data-i18n-html]").forEach((e) => { e.innerHTML = text(e.dataset.i18nHtml); });
    for (const attribute of ["aria-label", "title"]) {
      document.querySelectorAll(`[data-i18n-${attribute}]`).forEach((e) => { e.setAttribute(attribute, text(e.getAttribute(`data-i18n-${attribute}`))); });
    }
  }

  // the bundle's language, once it is read (a served page fetches it): it wins over the
  // browser's, not over the address's
  function follow(lang) {
    const chosen = choose(asked(), lang, ...browser());
    if (chosen !== language) { language = chosen; apply(); }
  }

  if (language !== "en") apply();  // the page is written in English
  return { text, follow, get language() { return language; }, LANGUAGES };
})();

function _t(key, values) { return I18N.text(key, values); }
