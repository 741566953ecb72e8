"""Name gazetteer for the offline PERSON recognizer (generated: do not edit by hand).

Lower-cased first and last names from Faker's person providers for en_US, en_GB, en_IE, en_NZ, en_IN, es_ES, es_MX, fr_FR, de_DE, it_IT, pt_BR, pt_PT, nl_NL;
regenerate with ``python benchmarks/data/make_pii_set.py --gazetteer``. ``AMBIGUOUS`` are names that
are also common English words (Will, May, Grace, Brown): alone they are not evidence of a name.
"""

FIRST_NAMES: frozenset[str] = frozenset("""
aachal aadhya aadi aahana aaliyah aarav aarini aarna aarnav aaron aarush aarón aashi aayush
abbas abbey abbi abbie abby abdul abdullah abeer abel abelardo abha abhimanyu abhiram abigail
abigaíl abilio abraham abram abril achille achim ada adalbert adalberto adam adamo addison adela
adelaida adelardo adelasia adelbert adele adelgunde adelheid adelia adelina adelinde adeline
adelmo adem adina aditya adolf adolfine adolfo adora adoración adrian adriana adriane adriano
adrien adrienne adrián advaith advay advik advika adweta adya adán adèle adélaïde aedan aenne
afonso agapito agastya agata agatha agathe agnes agnieszka agnolo agnès agostino agustina
agustín ahmad ahmed ahmet aida aidan aideen aiden aileen ailis aimee aimé aimée ainara aine
ainoa aishani aisling aislinn aitana aitor akshay alain alan alana alanis alanna alannah
alastair alba alban albano alberico albert albertine alberto albin albina albino albrecht
alcides alderano aldo aldonza ale alec aleisha alejandra alejandro alejo aleksandar aleksander
aleksandr aleksandra aleksej alena alessandra alessandro alessia alessio alex alexa alexander
alexandra alexandre alexandria alexandrie alexandros alexei alexej alexia alexis alf alfio
alfons alfonso alfred alfredo ali alice alicia alicja alida alina aline alisha alison alistair
alister alix alka alla allan allana allegra allen allison alma almudena almut almuth alois
aloisia alondra alonso aloys alphons alphonse alvaro alvin alwin alwina alwine alyssa alícia
amada amadeo amado amador amaia amaira amalia amalie amancio amanda amando amara amarilis amaro
amaya amber ambrosio amedeo amelia amelie amico amie amin amina amir amira amleto amol amor
amparo amrita amruta amy amy-lee amy-leigh amélia amélie américa américo amílcar ana anabel
anacleto anahera anamika anaru anastasia anastasie anastasio anastasios anatol anatoli anatolij
anay anaïs andre andrea andreas andree andrei andreia andrej andres andrew andrey andrzej andré
andrée andrés andy anel aneta anett anette angel angela angelica angelika angelina angelino
angelique angelita angelo angie angus angélica ani anica anika anirudh anita anja anjali anka
anke anmol ann ann-kathrin anna anna-lena anna-luise anna-maria anna-marie annabel annabelle
annaliese annalisa annalise annamaria anne anne-kathrin anne-katrin anne-marie anne-rose
annedore annegret annegrete annekatrin anneke annelene anneli annelie annelies anneliese
annelise annelore annemarie annemie annemijn annerose annett annetta annette anni annibale annie
annika annita annunziata anny anouk ansaldo anselm anselma anselmo ansgar ansh ante anthony
antje anto antoin antoine antoinette anton antonella antonello antonia antonie antonietta
antonina antonino antonio antonios antonius antony antónio antônio anunciación anusha anvi anya
aníbal aodhan aoibheann aoibhin aoibhinn aoife apolinar apollo apollonia apolonia apostolos
april arabella araceli aradhana arcelia archer archie ari aria ariadna ariana ariane arianne
aribert arie ariel arif ariki arin aristides arjun arlo armando armida armin arnaldo arnaude
arnd arndt arne arnfried arnim arno arnold arnulf arnulfo aroa aroha aron arran arron arsenio
artemio arthur artur arturo arunima arya aryan arzu aránzazu asafe ascensión asdrubal asher
ashlee ashleigh ashlene ashley ashling ashton asta astrid asunción ataahua atenulf athanasios
atharv ati atilio attila audrey august augusta auguste augustin augusto aura aurelia aureliano
aurelio aurora aurore aurélie austin autumn ava avi avni awhina axel aya ayaan ayden ayesha ayla
aylin aylla aynur ayoub ayse aysel ayten ayush ayushman azaan azad azahar azahara azeglio
azeneth aziz azra azucena babett babette baccio bachittar baghyawati bahadurjit bailey bailie
bakhshi baldassare baldomero balduino baldur balendra balhaar baljiwan baltasar balthasar balvan
balveer banjeet baptist barbara barkha barry bart bartholomäus bartolomeo bartolomé bas basilio
bastiaan bastian baudelio bautista bayram beata beate beatrice beatrix beatriz beau beauden
becky begoña bekir bela belen belinda bella belén ben benedetto benedikt benedita benicio
benigna benigno benita benito benjamim benjamin benjamín benn benno benoît bente benthe bento
benvenuto benício beppe berat berend berenice berit bernabé bernadette bernard bernarda
bernardino bernardita bernardo bernd bernd-dieter berndt bernfried bernhard bernhardine bernt
bernward bert berta bertha berthold berto bertold bertram bertrand beth bethan bethany betina
betti bettina betty bevan beverley beverly bhanumati bhavani bhavika bhavini bhavna bhavya
biagio bianca bianka bibi bibiana bienvenida bilal bill billie billie-jo billy bimala bina
birger birgid birgit birgitt birgitta birte birthe bishakha bjorn björn blaine blair blake
blanaid blanca blanka blas bo boaz bob bobby bodhi bodo bogdan bonifacio bonnie boris borja
bozena brad bradley brady bram brandi brandon brandy branka branko braxton brayan brayden
breandan breanna brenda brendan brendon breno brent brett brian briana brianna bridget brigid
brigitta brigitte brijesh brinda brit brita britney britt britta brittany brittney brodie brogan
bronach bronagh bronwyn brooke brooklyn bruce bruna brunhild brunhilde bruni brunilda bruno
bryan bryce bryony brígida buenaventura burckhard burghard burkard burkhard burkhardt bárbara
bärbel caetana cahal cahir cailin cailum caio caitlin caitlyn caitriona cal calcedonio caleb
calebe calista calisto calixta calixto callan callum calogero calum calvin cameron camila
camilla camille camillo camilo campbell canan candace candela candelaria candelario candelas
candice caoilfhionn caoimhe caoimhin caolain caolan caomhan capucine cara caragh caren caridad
carin carina carl carl-heinz carla carlijn carlito carlo carlos carlota carly carmel carmela
carmelita carmelo carmen carmina carmine carminho carol carola carole carolin carolina caroline
carolyn carrie carsten carter cas casandra casemiro casey casper cassandra cassidy cassie
catalina catarina caterina cathal catharina catherine cathleen cathrin cathy cato catrin
catriona cauã cauê cayetana cayetano ceara cebrián cecilia cecilio cecília ceferino celal
celestina celestino celia celine celso cemal cemil cengiz centa cesar cesare cetin ceylin chaaya
chad chaitaly chaitanya chakradev chakradhar chakrika chaman chameli champak chanakya chanchal
chandani chandran chandresh chantal chantel chantelle charan charis charita charlene charles
charlie charlotte charo charvi chase chasmum chatresh chatura chavvi che chelo chelsea chelsey
chema cherie cherith cheryl cheyenne chiara chita chloe chloé chloë chris christa christa-maria
christel christelle christian christiana christiane christie christin christina christine
christl christof christoph christophe christopher christos christy chucho chus chuy cianan ciara
ciaran ciarrai cilli cillian cilly cindy cintia cipriano ciriaco cirillo cirino ciro ciríaco
citlali claas claire clara clare clarence clarice clarisa clarissa clark claude claudia claudine
claudio claudius claus claus-dieter claus-peter clayton clelia clemens clemente clementina cleto
clifford clinton cliodhna cliona clive clodagh cloe clotilde cláudio cläre clémence clímaco
codie cody cohen cole colette colin colleen collette collin colm colton coluccio colum conal
conall conan concepción concetta concha conchita conchur conn connie connor conny conor conrad
conrado constance constantin constanza constanze constança consuela consuelo cooper cora coral
cord cordula corey corina corinna corinne coriolano cormac cornelia cornelio cornelis cornelius
corona corrado corrie cortney cory cosima cosimo cosme costantino costanzo courteney courtney
craig crescencia cristal cristian cristiano cristina cristobal cristóbal cruz crystal curro curt
curtis custodia custodio cynthia czeslaw cándida cándido cäcilia cäcilie cécile célina céline
césar daan dafne dagmar dagobert daire dairine daisy dajana dakota daksh daksha dakshesh dalaja
dalbir dale dalia dalila dalton damaris damian damiano damien damini damián damon damyanti dan
dana dani danica daniel daniela daniele danielle danilo danique daniël danny dante danuta daphne
dara darcy daria darika darin dario darius dariusz darko darlene darpan darragh darrell darren
darrin darryl darryn darsh daryl darío dave davi david dawn dayamai dayita dayna deaglan dean
deane deanna dearbhail dearbhaile dearbhla debbie deborah debra declan deepa deirbhile delfina
delfino delia demetrio demi demi-lee demi-leigh denis denise dennis denny derek dermot derrick
dervla desiderio desiree desmond destiny detlef detlev dev devansh devika devin devon dewi dex
dhriti dhruv diamond diana diane dianne diarmuid diedrich diego dierk dieter diethard diethelm
diether dietlind dietlinde dietmar dietrich dillon dimas dimitri dimitrios dina dinis dino diogo
dion dionigi dionisia dionisio dionne dipta dirk ditmar dittmar divya diya dogan dolores dom
domenico domhnall dominga domingo dominic dominik dominique domitila don donal donald donata
donatella donatello donato donna dora doreen dorina doris dorit dorita dorle dorota dorotea
dorothe dorothea dorothee dorothy dorothée douglas dragan dragica drago drew duane duarte duilio
dulce duncan dunja durante dursun dusan dustin duuk dwayne dylan dylano débora dörte dörthe
eadaoin eamon eamonn earl eberhard eberhardt ebony eckard eckart eckehard eckhard eckhardt
eckhart ecrin edda eddie edel edelbert edelgard edelmira edelmiro edeltraud edeltraut edeltrud
eden edgar edgardo edhitha edit edith editha edmund edmundo edoardo edu eduard eduarda eduardo
edward edwin eesha efraín egbert eggert egon ehrenfried ehrentraud ehrhard eileen eilis eilish
eimear eimer eimhear eiravati eitel ekaja ekalinga ekani ekansh ekanta ekantika ekapad ekaraj
ekaterina ekavir ekbal ekiya ekkehard ekkehart ekrem ekta eladio elaine elba eleanor eleanora
elena eleni elenore eleonora eleonore eleuterio elfi elfie elfriede eli eliana elias elif eligia
eligio elijah elin eline elisa elisabet elisabeth elise eliseo elisha eliza elizabeth elize elke
ella elladio ellen elli ellie ellinor elliot elliott elly elma elmar elmo eloah elodia eloisa
eloise eloy eloá eloísa elpidio elsa elsbeth else elsie elvia elvira elwira elzbieta elías ema
emanuel emanuella emanuelly emelina emer emigdio emil emilia emiliana emiliano emilie emilio
emilly emily emin emine emir emma emma-louise emmanuel emmanuelle emmerich emmet emmett emmi
emmy emperatriz emília encarna encarnacion encarnación encarnita enda engelbert engin ennio enno
enrico enrique enver enya enzio enzo eoghan eoin epifanio eraldo erasmo ercan erdal erdmute
erdogan erhard erhardt eric erica erich erick erik erika erin erkan ermanno ermenegildo ermes
erna ernest ernestine ernesto ernst ernst-august ernst-dieter ernst-otto erol erwin eryn eshana
esila esmee esmeralda esmée esparta espartaco esperanza espiridión esteban estefanía estela
ester esther estrella eta etelvina ethan etta ettore euan eufemia eugen eugene eugenia eugenie
eugenio eugène eulalia eunan eusebia eusebio eustaquio eutimio eutropio eva eva-maria eva-marie
evamaria evan evangelia evangelina evangelista evangelos evaristo eve evelia evelien evelin
eveline evelio evelyn evelyne evi evie evita evy ewa ewald ewan ezequiel ezio ezra faas fabia
fabian fabiana fabienne fabio fabiola fabián fabiënne fabricio fabrizia fabrizio fadime fainche
faith falak falan falguni falk falko fanny faqid faraj faras farhan fariq faris faruk fatih
fatima fatma faustino fausto fay faye feargal fearghal febe fedde fedele federica federico
federigo fedor felicia feliciana feliciano felicidad felicitas feline felipa felipe felisa felix
felizitas fem femke fenna fenne ferdi ferdinand ferdinando ferenc fergal fergus fermín fernanda
fernando fiamma fidel fidela fien fiene filipa filipe filippa filippo filiz filomena finbar finn
fintan fiona fionntan fionnuala fiorenzo fiorino fitan fito fiyaz flavia flavio fletcher fleur
floor floortje flor flora florence florencia florencio florentina florentine florentino florian
florina florinda floris flynn folker folkert fortunata fortunato forum frado franca frances
francesca francesco francis francisca francisco franck franco francoise franjo frank
frank-michael frank-peter franka frankie franklin franz franz-josef franz-peter franz-xaver
franziska françois françoise fraser frauke frazer fred freddy frederic frederick frederico
frederik frederike frederique fredi fredo fredy freia freya frida fridolin frieda friedbert
friedemann frieder friedericke friederike friedhelm friedhilde friedhold friedl friedlinde
friedo friedrich friedrich-karl friedrich-wilhelm frithjof fritz frédéric frédérique fulgencio
fulvio fábio fátima féline félix gabi gabino gabor gabriel gabriela gabriele gabriella gabrielle
gabrielly gaby gael gaetano gagan gail gala galasso galina galo ganga gareth garima garrett
garry gary gaspar gaspare gastone gastón gaurang gaurangi gaurav gauri gaurika gautam gautami
gavin gayathri gaylene gebhard geert geetika gelsomina gema gemma genaro gene geneviève genoveva
geoffrey georg george georges georgia georgina georgine georgios gerald geraldine geraldo gerard
gerardo gerd gerda gerdi gereon gerfried gerhard gerhardt gerhart gerhild gerlind gerlinde
german germana germán gernot gero gerold gerolf geronimo gerrit gert gerta gerti gertraud
gertraude gertraut gertrud gertrude gertrudis gervasio gerwin gerónimo gesa gesche gesine geza
giacinto giacobbe giacomo giada giampaolo giampiero gian giancarlo gianfrancesco gianfranco
gianluca gianluigi gianmarco gianna gianni gianpaolo gianpietro giel giesela gijs gil gilbert
gilberto gilda giles gilles gillian gina gino gioacchino gioachino gioele gioffre gionata
giorgia giorgio giosuè giovanna giovanni girik girindra girish girolamo gisa gisbert gisela
gislinde gitta gitte giulia giuliana giuliano giulietta giulio giuseppe giuseppina giustino
glauco glen glenda glenn glenys gloria godofredo goffredo gonzalo gonçalo gopal goran gordana
gordon gottfried gotthard gotthilf gotthold gottlieb gottlob goyo grace gracia graciana graciano
graciela graeme graham grainne grant grayson graziano graziella grazyna greca greco greg gregg
gregor gregorio gregory greta gretchen grete gretel gretl griselda grit grzegorz grégoire
guadalupe guarino gudrun gudula guenter guenther guglielmo guido guilherme guillaume guillermina
guillermo guiomar guiseppe gunar gunbir gunda gundel gundi gundolf gundula guneet gunhild gunnar
gunter gunther guntram gustav gustavo gusti guus guusje guy gwendolyn gérard gönül götz gülay
gülsen gülten günter günther h.-dieter hadassa hagen hailey hajo hakan haley halil halina hamish
hamsini hamza hana hanife hanna hannah hannchen hanne hanne-lore hannelore hannes hanni hanno
hanns hanny hans hans-adolf hans-albert hans-bernd hans-christian hans-detlef hans-dieter
hans-dietrich hans-eberhard hans-erich hans-friedrich hans-georg hans-gerd hans-gerhard
hans-günter hans-günther hans-h. hans-heinrich hans-helmut hans-henning hans-herbert
hans-hermann hans-hinrich hans-j. hans-joachim hans-jochen hans-josef hans-jörg hans-jürgen
hans-karl hans-ludwig hans-martin hans-michael hans-otto hans-peter hans-rainer hans-rudolf
hans-theo hans-ulrich hans-uwe hans-walter hans-werner hans-wilhelm hans-willi hans-wolfgang
hansgeorg hansjoachim hansjörg hansjürgen hanspeter harald hardik hardy harinakshi harini harish
harita harley harm harmony harold haroldo harper harri harriet harrison harro harry harsh
harshil hartmut hartmuth hartwig harvey hasan hassan hasso hatice hayden haydée hayleigh hayley
hazel heather hector hedda hedi hedwig hedy heide heide-marie heidelinde heidelore heidemarie
heiderose heidi heidrun heike heiko heimo heiner heinfried heini heino heinrich heinz
heinz-dieter heinz-georg heinz-gerd heinz-günter heinz-günther heinz-joachim heinz-josef
heinz-jürgen heinz-otto heinz-peter heinz-walter heinz-werner heinz-wilhelm heinz-willi heitor
helen helena helene helfried helga helge heliodoro hella hellena hellmut hellmuth helma helmar
helmtrud helmut helmuth heloisa heloísa hema hemal hemang hemangini hemani hemi hendrik henner
henni henning henny henri henriette henrik henrike henrique henry henryk heraclio herbert
herberto heribert heriberto herlinde herma hermann hermann-josef hermelinda hermenegildo hermine
herminia herminio hernando hernán herrmann herta hertha herwig hidde hilario hilary hilda
hildburg hilde hildegard hildegart hildegund hildegunde hilma hilmar hiltraud hiltrud hinewai
hinrich hipólito hiral hitesh hoani holger hollie holly holm homero honoré hope horacio horst
horst-dieter horst-günter horst-peter hortense hortensia howard hredhaan hritik hubert hubertine
hubertus hudson hugh hugo hugues huia hulda humberto hunter héctor hélène hülya hüseyin iain ian
iara ibrahim ibán ida idika ignacia ignacio ignatz ignaz ignazio igor ihaia ijaya ikbal iker
ikshita ilaria ildefonso ildiko ileana ilhan ilias ilija ilja ilka ilona ilonka ilse imaran
imelda imke immo imogen imran imre ina inaya indali indi india indie indira indrajit indy ines
inga ingbert inge ingeborg ingeburg ingelore ingetraud ingetraut ingmar ingo ingolf ingrid
ingried inka inken inmaculada inna inocencio insa inès inés inês ioannis iolanda iona ippazio
ira irena irene irina iris irma irmela irmengard irmgard irmhild irmi irmingard irmtraud
irmtraut irmtrud irya isa isaac isabel isabela isabell isabella isabelle isabelly isadora isaiah
isaque isaura isaías ise isha ishaan ishani ishanvi ishita ishwar isidor isidora isidoro isidro
isis isla ismael ismail ismet isobel isolde israel istvan itzel itziar ivan ivana ivanka ivo
ivonne ivy iván iwan iwona ize jacek jacinta jacinto jack jackie jackson jaclyn jacob jacobo
jacopo jacqueline jacques jade jadwiga jafet jagat jagdish jagrati jagvi jai jaime jairaj jake
jakob jalsa james jamie jamie-lee jamie-leigh jan jan-peter jana janaki janani jane janet janett
janette janice janin janina janine janko jann janna janne janos januja janus janusz janya
jaqueline jared jari jarlath jaroslav jaroslaw jarrod jasmijn jasmin jasmina jasmine jasmit
jason jasper jatin javi javier javiera jaxon jay jayda jayde jayden jaylinn jayne jayson jean
jeanette jeanne jeannette jeannine jeet jeevika jeff jeffery jeffrey jelena jelle jelte jemma
jena jenaro jenna jenni jennifer jenny jens jens-peter jens-uwe jente jeremiah jeremy jeremías
jermaine jerome jerry jerzy jerónimo jesper jesse jessica jessie jessika jesus jesusa jesús jet
jhalak jill jillian jim jimena jimmy jinthe jip jiri jo joachim joan joana joann joanna joanne
joaquim joaquina joaquín job jobst jocelyn jochem jochen jodi jodie jody joe joel joep joerg
joey johan johann johanna johanne johannes john johnathan johnny jolanda jolanta jolanthe jolene
jolie jolijn jon jonas jonatan jonathan jonathon jonás joost jordan jordana jordi jordon jordy
jordán jorge joris jorja jorn jort jos jose josef josefa josefina josefine josep joseph
josephine josette josh joshua josiah josip jost josué josé joséphine jovan jovita joy joyce
jozef joão joël joëlle juan juana juanita juanito jude judith judy juergen jules julia julian
juliana juliane julie julie-anne julien julieta juliette julio julius julián june juri jurij
jurre justin justina justine justus jutta juul jyoti jérôme jéssica jörg jörg-peter jörgen jörn
júlia jürgen kabir kahu kahurangi kai kai-uwe kaia kaique kaitlin kaitlyn kala kaleb kalpit
kamala kamil kamilly kamya kane kara karan karen kari karin karina karl karl-august karl-dieter
karl-ernst karl-friedrich karl-georg karl-hans karl-heinrich karl-heinz karl-hermann karl-josef
karl-jürgen karl-ludwig karl-otto karl-peter karl-werner karl-wilhelm karla karley karlfried
karlheinz karlijn karola karolin karolina karoline karsten karyn kashish kashvi kasimir kaspar
kata katalin katarina katarzyna kate katelyn katerina katharina katharine katherina katherine
kathi kathleen kathrin kathryn kathy kati katie katie-louise katja katrin katrina katy kauri
kavya kay kay-uwe kayden kaye kayla kaylee kayleigh kazim kealan keano keanu keegan keelan keely
keeva keira keith kelli kellie kelly kelly-anne kelly-marie kelsey kelvin kemal kenan kendra
kenneth kent keri kerri kerrie kerry kerstin kevin keya khloe kiaan kian kiara kick kiera kieran
kike kiki kilian killian kim kimberley kimberly kingston kira kirby kiri kirk kirsten kirstie
kirstin kirsty klaas klara klaudia klaus klaus-d. klaus-dieter klaus-günter klaus-jürgen
klaus-michael klaus-peter klaus-ulrich klaus-werner klemens klothilde kläre knud knut koen
konrad konstantin konstantinos konstanze kora korbinian kordula kori korinna kornelia kornelius
kreszentia kreszenz kriemhild krish krisha krishna krista kristen kristi kristian kristiane
kristie kristin kristina kristine kristopher kristy kritika krystal krystyna krzysztof kunibert
kunigunda kunigunde kuno kurt kurtis kyan kyano kyara kyla kyle kylie kyra käte käthe käthi
kévim laban lacey lachlan ladislaus ladli laetitia laila lajita laksh lakshit lakshmi lalo
lambert lamberto lana lance lando laoise lara larissa larry lars laszlo latasha latoya laura
laure laureano lauren laurence laurens laurent laurenz lauretta laurie lavanya lavínia lawrence
layla lazzaro laís lea leah leander leandra leandro leanne lee leela leena leif leigh leila
leire lekha lena lene leni lenn leo leocadia leocadio leokadia leon leona leonard leonardo
leoncio leone leonel leonhard leonid leonie leonor leonore leopold leopoldine leopoldo leroy
lesley leslie leszek leticia letizia letícia levi lewis lex leyla leyre león lia liam liana
liane libby liberto libni licia lidia lidija lidwina lieke liesa liesbeth lieschen liesel
lieselotte lieve ligia lila lili lilia lilian liliana liliane lilija lilla lilli lilly lilo lily
lina lincoln linda linde lindsay lindsey linn lino linus lioba lipika lisa lisa-marie lisandro
lisanne lisbeth lise liselotte lisette lissi lissy liv livia livio liz liza lize lizz lizzy
ljiljana ljubica ljudmila lloyd lodovico loek loes logan lohit loida lois lola lolita loni
lonnie lopa lope lorcan lore loredana lorena lorenz lorenza lorenzo loreto loretta lori lorna
lorraine lot lothar lotte lotti louis louise lourdes lourenço loïs luan luana luara luc luca
lucas lucca luce luchino lucho lucia luciana luciano lucie lucila lucinda lucio lucky lucrezia
lucy lucía ludger ludmila ludmilla ludovica ludovico ludwig ludwina luigi luigina luis luisa
luise luisina luitgard luiza luka lukas luke luna lunna lupe lupita lutz luuk luz luzia luzie
luís luísa lydia lynda lyndon lyndsay lyndsey lynette lynley lynn lynne lynnette lynsey lázaro
léo léon lívia lúcia maaike maanas maanav maarten maartje macarena macaria macario macauley
mackenzie madalena maddison madeleine madelief madeline madhav madhavi madison madlen mads maeve
mafalda magarete magda magdalena magdalene maggie magnus magret magrit mahi mahika mahmoud
mahmut maia maik maike mairead mairtin maite maitê maja makayla malachy malcolm malena
malgorzata malik mallory malte mamen manaaki manaia manan manawa manbir mandy manfred manja
manola manolo manon manthan manu manuel manuela manuelita manuella manus manya mar mara maraea
marc marcantonio marcel marcela marcelino marcella marcelle marcello marcelo marcia marcial
marciano marcio marco marcos marcus mare maree mareen mareike mareikura mareile marek maren
marga margaret margareta margarete margaretha margarethe margarida margarita margaud margaux
margherita margit margita margitta margot margret margrit marguerite maria maria-luise
maria-theresia mariah marian mariana mariane marianela marianna marianne mariano maribel marica
maricela maricruz marie marie-claire marie-louise marie-luise marie-theres marie-therese
mariechen mariele marieluise marietta marija marijan marijn marika marilyn marina marine marino
marinus mario mariola marion marisa marisela marisol marissa maristela marit marita maritta
marius mariusz marjan mark marko markus marleen marlen marlene marlies marliese marlis mart
marta marten martha marthe martim martin martina martine martino martirio martyn martín marvin
mary maryam maryse marzena maría mason massimiliano massimo mateo mateus matheus mathew mathias
mathijs mathilde matias matilda matilde matiu mato mats matteo matthew matthias matthieu
matthijs matthäus mattia mattias matías maud maura maureen maurice mauricio maurilio maurits
maurizio mauro max maxi maxim maximiano maximilian maximiliano maximino maxwell maya maysa mayte
mckenzie meabh meagan meaghan mechthild mechthilde mechtild meera mees meg megan megha meghan
meghana mehdi mehmet meibh meik meike meinhard meinolf meinrad mekhala melania melanie melchor
melina melinda melisa melissa melita melitta melle melody melvin meral mercedes merche mereana
meredith merel merijn merle mervyn meryem mesut meta metin mette mia micael micaela micah micha
michael michaela michaele michail micheal micheala michel michela michelangelo michele
micheletto michelle michelotto michèle mick miguel miguela mijo mika mikaela mikaere mikayla
mike mikhail mila milagros milan milena milica milka millie milo milos milou mina mindy minerva
minna miodrag mira miranda mirco mireia mirella miriam miriama mirja mirjam mirjana mirko
miroslav miroslaw miroslawa mirta mirte mirthe misty mitali mitchel mitchell mitesh mitzy
modesta modesto mohamed mohammad mohammed mohini moisés mollie molly mona monica monika monique
monja montserrat morena moreno morgan moritz morris mugdha muhammed muharrem murat murilo murray
mustafa muzaffer mya myles myriam myrthe márcio mário máxima máximo mélanie mónica nachiket
nacho nacio nada nadeschda nadeshda nadia nadin nadine nadja naiara nair naksh nakul nancy
nandini nando nanni naoimh naoise naomh naomi napoleone narcisa narciso natali natalia natalie
natalija natalio natalja natanael natascha natasha nate nath nathalie nathan nathaniel natividad
natália naud naveen nayara nayeli nazaret nazario necati nedda neel neelima neha neil nelli
nelly nelson nerea nereida nermin netra nevaeh nevenka neville ngaire nia niall niamh nicanor
niccolò nichola nicholas nichole nick nico nicodemo nicola nicolai nicolas nicolasa nicolaus
nicole nicoletta nicolás nicolò nidhi nidia nidra niek niels nienke nieves nigel nihal niharika
nikau nikita nikki niklas niko nikola nikolai nikolaj nikolaos nikolas nikolaus nikora nilda
nilima nilo nils nimrat nina ninetta nino ninthe nirja nisa nisha nitara nitesh nixon noa noah
noel noelia noemí noor noortje nora norah norbert norberto norma norman notburga noud nout nova
noé noémi noël noëlle nuala nuno nuran nuray nurettin nuri nuria nurten nydia nynke nádia nélida
néstor núria obdulia octavia octavio océane oda odalis odalys odette odhran odika oeshi ofelia
oisin ojas ojasvi olaf olalla olav ole olegario olena olga olimpia olive oliver olivia olivie
olivier olívia om omaja omar omisha omkaar omya oni onkar onofre onveer oonagh oran orazio
oreste orfhlaith orhan oriana orinder orla orlagh orlaigh orlaith orlando ornella ortrud ortrun
ortwin oscar osha oskar osman osvaldo oswald oswaldo oswin otfried othmar otilia otmar ottavio
ottfried ottilie ottmar otto ottokar ottomar ottone otávio ovidio oviya owen oxana pablo paca
paco pacífica padraic padraig padraigin pahal paige pallavi palmira paloma pam pamela pancho
panfilo panini paola paoletta paolo paride paris parker parth pascal pascale pascual pascuala
pasqual pasquale pastor pastora patric patrice patricia patricio patrick patrik patrizia
patrizio patrícia patty paul paul-gerhard paul-heinz paula paulette paulina pauline paulino
paulo pauric pavani pavel pawel payton paz peadar pearce pearse pedro peer peggy pelayo
pellegrino penelope penny pepe pepijn pepita pepito perla perlita pero perry petar peter
peter-michael petra petrona petros peyton phileine philip philipp philippa philippe philippine
phillip philomena phoebe phoenix phyllis pia piaras piedad pien pier pierangelo pierce
piergiorgio piergiuseppe pierina pierluigi piermaria piero pierpaolo pierre piersanti pieter
pietra pietro pilar pili pim pina piotr piper pippa pirmin pius pleun plinio plácido polina
polly pompeo pomponio poncio pooja poppy porfirio pranav praneel pranit pratyush preston
primitiva primitivo priscila priscilla prisha priska priya prudencia prudencio puccio puck puk
purificación pushti pánfilo pénélope pía pío qabil qadim qarin qasim quentin quincy quinn
quinten quinty quique quirino qushi raagini rabea rachael rachana rachel rachelle rachit rachita
radha radhika radmila rael raewyn raf rafa rafael rafaela rafaél raffaele raffaella raffaellino
raffaello raghav rahel raik raimondo raimund raimundo rainer raisa raissa rajata rajeshri raksha
ralf ralf-dieter ralf-peter ralph ramazan ramiro ramon ramona ramón ranbir randall randolf randy
ranieri ranveer raphael raphaela raquel raul raven ravi ravy rawiri ray rayaan rayan raymond
raymund raúl rebeca rebecca rebekah rebekka recep reece regan regina reginald regine rehaan
reimar reimer reimund reina reinald reinaldo reiner reingard reinhard reinhardt reinhart
reinhild reinhilde reinhold rembrandt remedios remigio remo rena renan renata renate renato rene
renee reni rens renske renzo rené renée resi reuben reva rex reyansh reyes reyna reynaldo reza
rhavi rhian rhianna rhianne rhiannon rhonda rhys ria rian ricarda ricardo riccardo ricciotti
richard rick rickey ricky rico ridhi rigo rik riley rishi rita riya riza roan robbie robby
robert roberta roberto robin robyn rocco rochelle rochus rocío roderich rodney rodolfo rodrigo
rogelio roger rohan roise roisin roland rolando roldán rolf rolf-dieter rolf-peter roman romana
romeo romina romolo romuald romy román ron ronald ronaldo ronan ronith ronnie ronny roos roque
rory rosa rosa-maria rosalia rosalie rosalina rosalinda rosalinde rosalva rosalía rosaria
rosario rosaura rose rose-marie roseanna rosel roselinde rosemarie rosemary rosenda rosendo rosi
rosie rosina rosita rosl rosmarie ross rossana roswita roswitha rotraud rotraut rouven rowan
roxana roy ruairi ruari ruben ruby rubén rudi rudolf rudolph rudra rufina rufino ruggero
ruggiero rui rupert ruperta ruperto rushil russell ruth ruthild ruy ryan ryder ryszard régulo
rémy rómulo rúben rüdiger saanvi saar saban sabas sabatino sabina sabine sabri sabrina sacha
sachi sadie sahin sai saksham salih sally salma salomé salomón salud salvador salvatore salvi
sam samaksh samanta samantha samar samarth samesh sami samir samira samu samuel sanaya sancho
sandalio sander sandor sandra sandro sandy sanne sante santiago santino santos sanya saoirse
sara sarah sarah-jane sarah-louise sarina sarita sarthak sasha saskia sathvik saturnina
saturnino saul saumya savannah saverio scarlett scot scott seamus sean sean-paul seana seanan
seaneen seanna sebastiaan sebastian sebastiano sebastián sebastião sedat segismundo selena selim
selina selma sem semra senn senna senol senta seona sep sepp serafina serafín serena serge
sergei sergej sergio sergius serpil sessa seth seve severiano severin severino severo sevim
shakira shane shania shanice shanna shannan shannen shannon shari sharlene sharon shaun shauna
shauneen shaurya shawn shawna shay shayne shea sheena sheila shelby shelia shelley shelly sheree
sheri sherri sherry sheryl shirley shivani shivansh shona shravya sian sibel sibilla sibille
sibylla sibylle siddharth siegbert siegfried sieghard sieglinde siegmar siegmund siegrid
siegried siegrun siegward siem sienna sierra sigfrido sigfried sigismund siglinde sigmar sigmund
sigrid sigrun sigurd sil silja silke silva silvana silvano silvester silvestre silvestro silvia
silvio simon simona simone simonetta simão simón sina sinaida sinead siobhan siofra sione siya
sjoerd skye skyla skylar slavica slavko slawomir slobodan sneha socorro sofia sofie sofía sol
sole soledad solveig songül sonia sonja sonya sophia sophie sophie-louise soraia soraya sorcha
sosimo spencer stacey stacie stacy stan stanislaus stanislav stanislaw stanley stavros stef
stefan stefani stefania stefanie stefano steffen steffi stella sten stephan stephanie stephany
stephen sterre steve steven stewart stijn stilla stjepan stuart stéphane stéphanie sudiksha sue
suhani summer susan susana susanita susann susanna susannah susanne suse susi suus suzanne suze
svea sven svenja svetlana swantje swen swetlana sybilla sybille sydney sylke sylvana sylvester
sylvia sylvie sylvio sylwia sébastien sérgio sönke sören sükrü süleyman tabea tabitha tadeo
tadeusz tai taine tama tamanna tamara tamati tami tammie tammy tanay tane tangaroa tania tanish
tanja tanmayi tanner tanveer tanvi tanya tara tarak tasha tassilo tatiana tatjana tayla taylor
tecla teerth tegan tejas telemaco telmo telse temistocle teo teobaldo teodora teodoro teodosio
tere terence teresa teresita terina terrance terrence terri terry tess tessa teun teófila
teófilo thaddäus thales thea theda thekla theo theobald theodor theodora theodore theodoro
theodoros theres theresa therese theresia thiago thibault thibaut thierry thies thijmen thijn
thijs thilo thom thomas thoralf thorben thorsten théo théodore théophile thérèse tia tiago tiana
tiare tiarna tiarnan tibor tiburcio tiegan tiernan ties tiffany tijmen tijn tijs till tillmann
tilly tilman tilmann tilo tim timm timo timoteo timothy timothée tina tino tirza tito tiziana
tiziano tobias toby todd tom tomas tomasa tomasz tomislav tommy tomás tomé toni tonia tonicha
tonino tony tonya toralf torben tori toribio torquato torsten tory toño tracey traci tracie
tracy traude traudel traudl traugott traute travis trent trevor tricia trini trinidad trinity
tripti tristan tristán triveni triya troy trude trudel trudi tui tullio turvi twan tycho tygo
tyla tyler tyrone tyson tülay türkan ubaldo uberto ubika ucchal udant udarsh udo udyati ugo
ugolino ulf uli ulises ulla ullrich ulrich ulrike umang umberto una undine unnati unni upadhriti
upasna upkaar upma urban urbano uriel urishilla urmi urs ursel ursula urszula urte urvashi urvi
uschi uta ute utkarsh utz uwe vadim vaishnavi vajèn valentijn valentim valentin valentina
valentine valentín valeri valeria valerie valerij valerio valero valeska valérie vamakshi vanesa
vanessa vansha vanya varenya varsha vasana vasatika vasco vassilios vasudha vaughan veda vedant
vedhika vedika veer veerle veit veli venancio venceslás vera verena vernon veronica veronika
veronique verónica vesna vicenta vicente vicki vickie vicky victoire victor victoria victoriano
victorino victória vidal vidhi vigo vihaan viktor viktoria vilma vinaya vince vincent vincentio
vincenza vincenzo vinicio vinicius vinko vinzenz vinícius viola violet violeta violetta viraj
virgilio virginia virginie viridiana visitación vitali vito vitor vittoria vittorio vitus
vitória vivaan viviana viviane vivienne vladimir vlado volker volkhard volkmar vrinda vrishti
vritti vyanjana véronique víctor vítor wahab waida waimarie wakeeta walburga waldemar waldtraut
walentina walfried walli wally walter walther waltraud waltraut waltrud wanda warda warhi
warinder warjas warren warwick watika wayne wazir wencke wendelin wendolin wendy wenke wenzel
wera werner wesley wessel whitney wibke widisha wiebke wieland wieslaw wigbert wikitoria
wilfredo wilfrido wilfried wilfriede wilhelm wilhelmine willem willfried willi william willibald
willibert willie willow willy wilma wilson wiltrud winfried wiremu wishi witold wladimir
wojciech woldemar wolf wolf-dieter wolf-dietrich wolf-rüdiger wolfgang wolfhard wolfram wout
wouter wriddhish wridesh wulf wyatt wálter xalak xaver xavi xavier xenia ximena xiomara xiti
yachana yadavi yagnesh yago yahvi yaiza yamini yan yara yasemin yash yashasvi yashawini yashica
yashoda yashodhara yashvi yasmin yasmine yassin yasti yatan yatin yauvani yeni yesenia yfke
yilmaz yinthe yochana yolanda yoshita youssef yug yuri yuridia yusuf yutika yuvraj yves yvette
yvonne yésica yéssica zac zacarías zach zacharie zachary zaid zaida zaira zaitra zak zakaria
zane zansi zara zarna zashil zayan zayyan zbigniew zdenka zdravko zeferino zehaan zehra zeki
zeljko zenon zenta zeynep zilmil zinal zion zita zlatko zoe zoey zofia zoltan zoraida zoran zoé
zoë áfrica ágata ágatha águeda álvaro ámbar ángel ángela ángeles áurea ângela ângelo änne édgar
édith édouard élisabeth élise élodie éléonore émile émilie éric érica étienne íngrid íris ísis
íñigo óliver óscar úrsula
""".split())

LAST_NAMES: frozenset[str] = frozenset("""
's gravensande aalts aarden aarts abad abascal abatantuono abate abba abbagnale abbott abella
abellán aberhart abrego abreu abril accardo acedo acerbi acero acevedo acharya achison ackermann
acosta acuña adadia adam adame adams adelaar adinolfi adkins adler adolph adriaansen adriaensdr
adriaense adryaens adán aeije aelftrud van wessex aertsz agarwal agate agazzi aggarwal agnesi
agnew agostinelli agostini agrawal aguado aguayo agudo aguilar aguilera aguiló aguirre agullo
agustí agustín ahearn ahearne ahern aherne ahluwalia ahmed ahuja ainsboro aitken ajello akhtar
alarcón alba alberdi albero alberola albers albert albertini alberto alboni albuquerque alcala
alcalde alcalá alcaraz alcolea alcántar alcántara alcázar aldobrandi aldridge alegre alegria
alejandro alemany alemán alexander alexandre alfaro alfieri alfonsi alfonso ali aliaga alighieri
allain allan allard allen aller allerby allis allison almagià almagro almansa almanza almaraz
almazán almeida almonte aloisio alonso alonzi alonzo alpaidis alsina altamirano altera alva
alvarado alvarez alve alves amador amaldi amalrada amaral amat amato amaya amble amigó ammaniti
amo amor amores amorim amorós anand anastasi anaya anders andersen anderson andra andrade andre
andreotti andreozzi andres andreu andrew andrews andrés angeli angiolello anglada anguiano
anguillara anguissola anguita angulo angus anichini anjos anne annsboro ansboro ansems antelami
anthony antoine antonacci antonelli antonello antonetti antonini antonioni antonucci antunes
antón antúnez aparecida aparicio apodaca aponte aporti appelman apte aragonés aragão aragón
aramburu arana aranda araujo araújo arce archer archuleta arco arcos arellano arenas arens arent
arevalo argan argentero argenti argento arguello argurio arias ariasso ariens ariens ansems
ariosto ariza ariño arjona armani armas armellini armendáriz armengol armenta armstrong arnaiz
arnal arnau arnaud arnold arnott aroca arora arranz arredondo arregui arreola arriaga arribas
arrieta arroyo arteaga arthurs artigas arts arya arévalo aschman asenjo asensio ashe ashley
ashman ashton asmundo asprucci assunção atchison atienza atkins atkinson atwal atzler aubert
aubry auch schlauchin auger aulenti aumann aurora austermühle austin avery avila avilés avogadro
ayala ayers ayllón aylward ayuso azcona azevedo aznar azorin babati babato babbo babu baca
bachmann backer bacosi badal badami badillo badoer badoglio badía baena baeza baggio baglioni
bahena bahl bahri bail bailey bailly bains baird bajaj bajamonti bajardi bajwa baker bakker
bakshi bal bala balaguer balakrishnan balan balasubramanian balay balbi balbo balderas baldick
baldwin bale bali ball balla ballard ballester ballesteros balotelli bandello bandeville bandi
banerjee banik banks bann bannon bansal banville baptista baquero baracca barad barajas baral
barba barbarigo barbe barber barberini barbero barberá barbier barbosa barcaccia barcella
barceló barco barela barents barese baresi baria barillaro barker barkholz barlow barman barnes
barnett barneville baroffio baron barozzi barr barracco barragán barral barranco barraza barre
barreda barrena barrera barreto barrett barrientos barriga barrio barrios barrnette barron
barros barroso barry barsanti bartels barth barthelemy bartlett bartley bartoli bartolomé barton
bary barzini baró barón bas basadonna basak bass bassett bassi basso bastiaanse bastiaense
bastida basu bataglia batalla batchelar bates bath batista batlle batra batta battaglia battelli
battisti baudry bauer baum bautista bauzà bava bave bawa baxter bayo bayona bayón bazin bazzi
baños bañuelos beakey beal beale bean beard beasley beasty beattie beatty beccaria beccheria
becerra becht beck becker beckmann bedi beekman beer beernink beffa beggan beggs begley begum
behan behl beier beijring beirn beirne bejarano bekbergen belda bell bellemans belletini bellido
bellini bello bellocchio bellucci bellò belmonte belpere belton beltran beltrán bembo ben benard
benavent benavente benavides benavídez bender benedetti benet benigni benitez benito benjamin
bennet bennett benoit benson benthin bentley benton benussi benítez beourgeois bera berends
berendse berengario berenguer beresford berg berger bergin bergoglio berkahn berlusconi bermejo
bermingham berminghim bermudez bermúdez bernaards bernad bernal bernard bernardi bernardini
bernat bernetti berney bernie bernier bernini berrocal berry berrè berríos bersani berthelot
bertho bertin bertoli bertolucci bertoni bertrand bertrán besnard besson best bettin bettoni
bevan bevilacqua beyer bezemer bhagat bhakta bhalla bhandari bhardwaj bhargava bhasin bhat
bhatia bhatnagar bhatt bhattacharyya bhatti bhavsar biagi biagiotti bianchi bianchini bibi bien
bierstraten biesty biggen bignami bignardi bigot bijlsma bilbao billung binaghi binner bir birch
bird birmingham birnbaum bishell bishop biswas bixio blaak black blackburn blackwell blair blake
blanc blanca blanch blanchard blanche blanchet blanco blanes blankenship blasco blasi blazquez
blees bleijenberg blevins blewanus blick blin bloch bloemendaal blokland blom blondel blonk blot
blázquez blümel boada boaga boase bobal bocca boccaccio boccherini boccioni bocelli boddaugh
bodin bodkin bodoni boer boers boeser boetet boezio bogan bohan bohlander bohnbach boiardo
boitani boito boix boland bolander bolaños boldù boles bolger bolkesteijn bolnbach bolton
bolzmann bombieri bompiani bonanno bonar bonatti bonaventura bonbach bond bondumier boner bones
bonet bongiorno boniface bonilla bonino bonneau bonner bonnet bonnin bonolis bonomo booden
boogaerts booker boon boone booth bora borah borde boreland borges borghese borgia borja borland
borman borra borrani borrego borrell borromeo borromini borroni borrás borsellino borsiere
borzomì bos bosch bose bosio bosman bossi bosurgi botella botello botham botta bottaro
botticelli bottigliero bou boucher bouchet boucsein boudewijns bouhuizen boulanger boulay
bourdon bourgeois bourke bousquet bouthoorn boutin bouvet bouvier bouwhuisen bova bowater bowden
bowe bowen bowers bowler bowles bowman boyce boyd boyer boylan boyle boyse bradden bradford
bradley bradshaw brady bragadin bragaglia brahmbhatt bramante brambilla branaola brancaccio
branch branciforte branco brandon brands brandt brannelly brar brassil braun bravo bray bree
breen breheny brenna brennan bresciani breslin bresnehan bresse bresé breton brett breugelensis
brewer briand briccialdi brichese brick bridge bridges bridson briemer brien briere brievingh
briggs bright briody briones brisee briseño brislane brito brizee brock broderick brody broeckx
broeders broek broekhoven broeshart brogan broggini bronder brookes brooks brophy broschi
brosnan broughan brouwer brown browne browning broy bru bruce bruder bruen bruggeman brugman
brugnaro bruijne van der veen brumleve brun bruneau brunel brunelleschi brunello brunet bruno
bruscantini bruton bruynzeels bryan bryant bryson buch buchanan buchholz buck buckley bud budig
buendía bueno buick buijs buisson bull bullock bulzoni bumb buonauro burcardo burch burchill
burgess burgos burke burnett burns burr burrell burrows burt burton buscetta bush busoni
busquets bustamante bustos butala butcher butler butselaar butte buttimer buttimore byrd byrne
byrnes báez bárcena bähr bärer bègue bétancourt bökenkamp börner caballero cabanillas cabañas
cabello cabeza cabezas cabibbo cabo caboto cabrera cabrero cabrini cabán caccianemico
caccioppoli cadden caddow cadefau cadena cadenas cadogan cadorna caetani cafarchia caffarelli
cafferkey cafferky cafferty caffrey cagney cagnin cagnotto cahalane cahill cahillane cahir cain
caine cainero cairn cairns caironi cal calarco calatayud calbo caldeira caldera calderon
calderón caldwell calgari calhoun callaghan callahan callan callanan callegari callegaro calleja
calligan callinan cally calvet calvey calvillo calvo calzada camacho camanni camargo camarillo
cameron camicione camilleri camino camiscione cammarata cammel campanella campano campbell
campillo campise campo campos campoy camps camuccini camus canales canali canals canavan
candelaria canet canetta canevascini canil cannan canniffe canning cannizzaro cannon canny cano
canova cant cantero cantimori cantrell cantu cantwell cantón cantú caparrós capdevila capecchi
caplis capone cappelli capples capua capuana caraballo caracciolo carbajal carbajo carballo
carbery carbonell carbó cardano cardenas cardona cardoso carducci carey carfagna carleton carley
carli carlier carlin carlos carlson carmody carmona carneiro carnera carnero carney carnotte
caro carocci carolan caron carosone carpaccio carpenter carpentier carpio carr carragher
carranza carrasco carre carrera carreras carrero carretero carreño carreón carriera carrig
carrigan carrigy carrillo carrión carro carroll carry carson carsten carter carthy carton
cartwright carty carullo caruso carvajal carvalho carville casa grande casadei casado casagrande
casal casale casaleggio casalodi casals casanova casanovas casares casarin casas case casellati
cases casey cashen cashman casillas casini caspar cassarà cassen casserley casserly cassiano
cassidy cassin castaneda castañeda castejón castell castellanos castelli castellitto castells
castelló castiglione castilla castillo castioni castrillo castro casárez catalano catalá catalán
catenazzi cattaneo cattigan cauley caulfield cavalcante cavalcanti cavanagh cavanna cavazos
cawley cazares cazorla cañas cañellas cañete cañizares ceballos ceci cedillo ceja celentano
cendron centeno cepeda ceravolo cerdá cerdán cerezo ceri cerquiglini cerro cerutti cervantes
cervera cervántez cesaroni cesarotti ceschi chacko chacón chad chada chadha chadwick chahal
chakrabarti chakraborty chamberlain chambers chamorro chan chana chand chanda chander chandler
chandra chandran chaney chang chapa chaparro chapman char charles charlton charon charpentier
charrier chartier chase chatterjee chaudhari chaudhary chaudhry chaudhuri chaudry chauhan
chauveau chauvet chauvin chavarría chaves chavez chawla checa chechi cheda cheema chen cherian
cherry cherubini chevalier chevallier chevresson chhabra chiappetta chiaramonte chico chiesa
chigi chindamo ching chinnici chittolini choi chokshi chopra chotzen choudhary choudhry
choudhury chowdhury christensen christian christiansen christie christoph christopher chrodtrud
chrétien chung church chávez ciampi cianciolo ciani cibin cicala cichorius cicilia cid cifuentes
cignaroli cilea cilibrasi cimarosa cimini cintrón cipolla cirino cisneros civaschi claassen
claesdr claesner clafferty claffey clair clancy clare claridge clark clarke classon clavero
clavin clay clayton clear cleary clemente clements clenaghan clerc clerkin clery clifford cline
clinten clinton clogherty cloherty clohessey clohessy cloney cloonan cloone clooney clune
clunies-ross clément coady coakley coardi coates cobb cobo cobos coca cocci cochran cociarelli
codina cody coelho coello coen coenen coffey cogan cogley cohalan cohen coholan colas cole
coleman coles coley colfer colgan colhoun colin coll collado collazo collen colleneler colleran
collet colletti colley collier colligan collin collina collinder collins collis collodi colly
colom coloma colomer colon colreavy colum columbo colunga colón comar comas comber combi comboni
combre combs comencini comer comerford comeriato comisky comisso commins comolli company compton
comyn conaty conboy concannon concepción conde condoleo condon condren condron conefrey conesa
conlan conley conlon conmee conmy connachton connaghy connaughton conneeley conneely connell
connellan connelly conner connery connole connolly connor connors conole conrad conradi conree
conroy conry considine contarini conte conti contractor contrafatto contreras convey conway
conwell coogan cook cooke cooksley coolahan coolen cooley coonan cooney cooper copeland coppola
corbacho corbett corbo corcoran corcos cordero cordier cordova corduff coret coret-coredo
coreth von und zu coredo und starkenberg corish corkery corless corlett corley cormack cormican
cormick cormy cornejo cornelisse cornelissen cornelisz corominas corona coronado corr corradi
corral corrales correa correia correr corridan corrigan corry corstiaens cortes cortese cortez
cortina cortés cosgrave cosgrove cosman cossiga costa costalonga costanzi coste costela costello
costelloe costigan cotter cotto coughlan coulon counihan courcey cournane courtenay courtier
courtney courtois cousin cousins coutts couturier covarrubias cowan cowely cowen cowley cox
coyle coyne cragg crahan craig craine crampsey crampsie crane crangle cranley cranly craven craw
crawford crawley crean creed creedon cregan crehan cremin cremonesi crespi crespo cresswell
criado cribbons crilly crimmins crinion crisafulli crispi cristoforetti croad croal crohan
crolly cronelly cronin cronly crosbie crosby cross crossan crota crotty crowe crowley crudden
cruise cruz cryan cuadrado cuda cuddihy cuellar cuenca cuervo cuesta cueto cuevas cuffe cugia
culhane cullen culligan cullinan cullinane culloty cully cumiskey cumisky cumming cummings
cummins cummiskey cummisky cundari cunha cunnane cunneen cunningham cunny cuomo curatoli curci
curiel curley curnane curneen curnyn curran currie curry curtin curtis cusack cusano cutrufo
cutuli cuzzocrea cuéllar cáceres cámara cánovas cárdenas câmara céspedes córdoba córdova cózar
d' heripon d'arcy da conceição da costa da cruz da cunha da luz da mata da mota da paz da rocha
da rosa da silva dachgelder dachgeldt dachgelt dada daiken dalal dale dalla dallapé dallara
dalmau dalton daly dalziel danaher dandolo dane dani daniel daniels dar dara darcy dargan
darmody das das neves dasey dasgupta dash dass date datta daugherty dave davenport davern davey
david davids davidson davies davila davin davis davison davitt davoren davy daw dawick dawson
day dayal daza de de anda de backer de beer de bock de boer de bont de bruijn de bruin de bruyn
de courcey de graaf de gratie de groot de grote de gruijl de gruijter de gruil de grunt
de gruson de haan de haas de heer de hoog de hoogh de jager de jesús de jode vastraedsd de jong
de jonge de kale de keijser de keijzer de kok de koning de korte de la crúz de la fleche
de la fuente de la garza de la o de la rosa de la torre de lacy de lange de leeuw de león de man
de marduras de mol de nijs de oliveira de pauw de plantard de reede de roo de roos de ruiter
de smit de sousa de strigter de swart de vos de vries de vroege de vrome de werd de wit deacon
deacy deady dean deane dease deasy decker dee deegadan deegan deehan deeley deely deeney deeny
deep deere deery dehmel deigan deignan dekker del río del valle delacruz delahaye delahunty
delaney delannoy delap delargy delattre delaunay deledda deleon delgadillo delgado delle
dellucci delmas delorme deloughrey deloughry demmendaal dempsey den buytelaar den haag
den teuling denihan denis denison dennehy dennenberg denning dennis denny deo deol depero
der kijnder dermody dermott derrig desai descamps deschamps deshmukh deshpande desio desmond
detti devally devan devane devaney devanney devaux devenney dever devereaux deaueroux devereux
devery devi devilly devin devine devitt devlin devoy dewan dey dhaliwal dhar dhawan dhillon
dhingra diallo dias diaz dibiasi dick dickerson dickey dickie dickinson dickson didier die bont
die pelser die witte diego diesbergen dietz diez diffin diffley diggin diggins dignan dijkman
dijkstra dijoux dillane dillon din dinan dineen dinneen dippel dircken dirksen dirrane dirven
disdero diskin ditschlerin divan divenney diver divine diviney dixit dixon diéguez dobbin
dobbins dobes dobson doctor dodd dodson doesburg dogherty doglioni doherty dolan domingo
domingues dominguez doménech domínguez donagher donaire donald donaldson donarelli donati
donatoni donegan donini donlon donnan donnell donnellan donnelly donoghue donohoe donohue donoso
donovan donà doody dooey doogan doohan doolan dooley doorhof doornhem doorty dora doran dordan
dore dorgan doria dornan dorrian dorsey dorsman dos santos doshi dossetti dossi doudigan
dougherty douglas dovara dowd dower dowerg dowey dowley dowling downes downey downing downs
doyle draaisma draghi drake drennan drew drewes drian dries driessen driscoll drohan droney drub
drubin drum drumm drummond drummy druso drysdale dua duane duarte dube dubey dubois dudley
dueñas duff duffin duffy dufour dugal dugar duggan duhamel duhig duhy duignan duivenvoorden duke
dulbecco dulohery dumas dumont duncan dunford dungan dunlap dunleavey dunleavy dunn dunne
dunning dunny dunphy dunworth duodo dupont dupré dupuis dupuy duque duran durand durante durham
durkan durkin durnan durnin durning durrihy durán duse dussen van dutt dutta duval dwane dwyer
dyal dyer dávila díaz díez döhn döring dörr dörschner earl earle early eaton eberhardt ebert
eberth echevarría echeverría eckbauer eckhardt eco eden edmonds edwards edwin eelman eerden egan
egea eglinton ehlert eigenwillig eijkelboom eimer einaudi eivers elberts elbertse elizondo
ellery elliot elliott ellis ellison elorza elsemulder elsenaar elwood elías emanuelli emmen emo
endrizzi engels english ennis enright enríquez erhout erickson ernst errani errigo ervin ervine
escalante escalona escamilla escobar escobedo escolano escribano escrivá escudero espada esparza
españa español espejo espinal espino espinosa espinoza esposito esquibel esquivel esson esteban
estes esteve esteves estevez estey estrada estévez etzler etzold eustace evans everde everett
evers everts evoy evrard ewart ewing exposito expósito fabbri fabra fabre fabregat fabrizi
fadden fadian fagan faggiani fagiani fagotto faherty fahey fahy fair fairhall faivre fajardo
falcone falcó falcón falier fall fallaci fallon falloppio falvey fannin fanning fannon fantini
fantoni fantozzi fanucci faranda farell faria farias farina farinelli farland farley farmer
farnan farnese farnon farragher farrell farrelly farren farrissey farrissy farry farré farías
fattori faugno faulkner faull faure faust favata fay fealy fearon fechant fechner federici
federico fee feehan feeley feely feeney feenstra feeny fegan fehan fehilly feighery feijoo
felban feliciano feliu feltzer fenelon fenighty fenlon fennell fennelly fennessey fenning fenton
fergus ferguson fermi fernandes fernandez fernández ferrabosco ferragamo ferragni ferran ferrand
ferrando ferrante ferrara ferrari ferraris ferrata ferrazzi ferreira ferrell ferrer ferrera
ferreras ferrero ferretti ferris ferriter ferrucci ferry ferrán ferrández ferrándiz fibonacci
ficino fiebig field fielding fields fieramosca fiere fierro figueiredo figueras figueroa
figuerola filangieri filban filbin filippelli filippini filogamo filzi finan finch findlay
finegan finetti finke finlay finley finn finnegan finneran finnerty finnucane finotto finucane
finzi fiol fioravanti fiorucci fischer fischetti fisher fittipaldi fitzgerald fitzgibbon
fitzgibbons fitzmartin fitzmaurice fitzpatrick fitzsimmons fitzsimons flaherty flahive flaiano
flanagan flannagan flannelly flannery flantz flatley flavin fleming fletcher fleury fliegner
flink flinn flood flor flores florio flowers floyd flynn flórez fo foa foconi fogarty fogazzaro
fogaça folan folch foletti foley folliero fonseca font fontaine foody foot foote foran forbes
ford forde forkin fornaciari forrest forster forsyth fortuny fortuyn forza foscari foster
foucher fouquet fournier fowler fox foy foyle foà fracci fraher frances franceschi franch
francis francisco franco frank franke frankhuizen franklin franscini franzese françois françoise
fraser frawley frazier freaney frederick fredriks freeley freely freeman freeney freeth freil
freitas fremie french frerichs frescobaldi fresh freshour freudenberger frey friedman friehus
friel fritsch fritz frost frutos fry frye frías fröhlich fuente fuentes fuertes fuller fulton
funnell furda furey furness fusani fuseli fuster fyfe fábregas förster gaba gabaldón gabba
gabbana gabrieli gadda gade gaffney gaggini gagliano gagliardi gahan gaiatto gaillard gaine
gaines gainey gaito gaitán gala galan galarza galeati galenzone galiano galiazzo galijn galilei
galindo gallagher gallaher gallardo gallart gallego gallegos gallen gallet galligan gallivan
gallo gallogly galloway galtarossa galuppi galvan galvani galvez galvin galván galán gamble
gamboa gamez gandhi ganesan ganesh gangemi ganguly ganley ganly gannon gaona gara garavan garay
garcia garcés garcía garde gardiner gardner garety garg gargallo gargan garibaldi garibay garica
garland garmendia garner garnier garobbio garozzo garraghy garrahy garret garrett garrido
garriga garrihy garrison garrone garry gartlan gartland garvey garvin garza garzoni garzón
gascón gaskin gaspar gasperi gastélum gately gates gatto gaudin gaughan gauthier gautier
gavaghan gavican gavigan gavin gay gaya gaynard gaynor gaytán geany gearty geary gee geerling
geerts geertsen geherty gehringer geisel geisler geißler gelabert geldens gellemeyer gelli gemen
gemito geneart genefaas gentileschi gentili gentilini gentry geoghegan george georges
gepa van bourgondië gera geraci geraghty gerarghty gerlach germain germano gerrits gerritse
gerritsen gertz gervais ghoerle ghose ghosh giacconi giacometti giammusso gianetti gianinazzi
giannelli giannetti giannini giannone giannotti giannuzzi gianvecchio gibb gibbon gibbons gibbs
gibert gibilisco giblin gibney gibson gierschner gieß gifford gigli gil gilabert gilardoni
gilbane gilbert gilbride gilchrist gildea gilduff giles gilgunn gilhooly gill gillan gillen
gilles gillespie gillet gillic gillick gillies gilligan gilliland gillis gillooly gilmartin
gilmore gilroy gilsenan gimenez gimeno giménez giner ginese ginesio ginevan ging ginnitty
ginnity ginty gioberti giolitti giorgetti giovine giradello giralt girard giraud girona
girschner girvan girón gisbert giselmeyer giulietti giunti giusti givern glass glasses glavin
glazier gleasure gledhill gleeson glenn glennon gloster glover glynn gnatz gnodde goda godard
goddard goderts godfrey godfrey van alemannië godoy godínez goedhart goel goff gogan gogarty
goggin goicoechea gokhale gola golden golding goldoni goldrick goldstein gole golgi golino golla
gollan gollum gomes gomez gomila gomis goncalves gonzaga gonzales gonzalez gonzalo gonzález
gonçalves good goodman goodwin gopal gordillo gordon gore gorevan gorey gorham gori gorlitz
gorman gosselin goswami gottardi gotthard gotti goudriaan gough gould goulden goulding gour
govarts govoni goyaerts van waderle goyal gozzano gozzi goñi grace gracia gradenigo grady graf
graham grahams gramsci granado granados granatelli grande grant gras grassi grasso grattan grau
graves gravina gray grealish greally greaney greco greehy greelish greely green greene greenwood
greer greggio gregori gregorio gregory greig greij grein groth gremese grenier grennan grewal
grey griego grifeo griffen griffin griffith griffiths grijalva grimani grimes grisoni gritti
groarke groen groenendaal groenestein grogan grondel grondin groogan groote gros gross grossi
grover growney gruijl grégoire gröttner guajardo gual gualandi gualtieri guarana guarato guard
guardado guardia guardiola guariento guarneri gubain gubben gucci gude guerin guerra guerreiro
guerrero guevara guglielmi guha guibert guicciardini guichard guidone guidotti guihan guijarro
guilbert guilfoyle guillaume guillen guillet guillon guillot guillou guillén guinan guinane
guinevan guiney guinizzelli guinnane guinness guiry guit guitart gulati gullery gullotta gulotta
gumprich gunn gunning gunpf gupta gurule gussoni gute guthrie gutierrez gutiérrez gutknecht guy
guyon guyot guzman guzmán guérin gwynn gálvez gámez gárate gérard gómez haack haas haase hackett
hadfield haengreve haering hagan hagendoorn haggerty hahessy hahn haines haire hak hakker halder
hale haley hall hallahan hallanan halley hallinan hallissey halloran halpen halpin ham hamann
hamel hamilton hammond hamon hampton hanafin hanbury hancock handa hande haneberg hanegraaff
haney hankard hanley hanlon hanly hanna hannah hanncard hannigan hannon hanrahan hanratty hans
hansen hanson hara harahoe haran hardie hardiman hardin harding hardy hare haren hargadon hargan
hargreaves hari haring harkin harkins harley harloff harmon harnett haro harper harrell harrihy
harrington harris harrison harry hart harte hartigan hartley hartman hartmann hartnett hartung
harty harvey haselaar hassett hastey hastie hastings hasty hatfield hatton hauffer haugh haughey
haverty hawe hawkins hawthorn hay hayden hayer hayes haynes hayre hays hayward hazenveld heaffy
healey healy heaney heaphy hearn hearne hearty heath heavey hebert hecker heckett hedderman
hedigan heelan heenan heeney heere heerkens heerschop heffernan hefferon heffron hegarty hegde
heggarty hehir hehl heidrich heijman heijmans heijmen hein heinrich heinrichs heintze heinz
hekker helen helery hellevoort hellwig helmerhorst hely hemma van allemanië hempenstall henck
henderson hendricks hendriks hendrikse hendrix hendry henebry heneghan henery heney henk
hennebry hennelley hennelly hennessey hennessy hennigan henric van den nuwenhuse henriques henry
henríquez henschel hensley henson hentschel hepburn hepenstall heraghty heras heraty herbert
herd heredia hereward heribert van laon hering herity herlihy herman hermann hermans
hermighausen hernandes hernandez hernando hernon hernádez hernández heron herranz herrera
herrero herring herrmann hertrampf hervia hervás hervé heser heskin heslin hess hesse hession
hester hethur hettner heuser hever hewitt hewson hexspoor heydrich heymans heyne heß hickey
hickman hicks hidalgo hierro higgins higueras hilary hill hillen hiller hillery hilliard hills
hilton hines hinney hinojosa hinton hishon histon ho hoarau hoare hoareau hoban hobbs hodge
hodges hodgson hodnett hodson hoedemakers hoeks hoekstra hoelen hoes hoey hoffman hoffmann
hofman hofmann hogan hogg holdaway holden holder holguín holland hollander hollins holloway
hollywood holmes holohan holsten holt holthuis holzapfel honan hondeveld honing hood hoogers
hook hooper hoover hope hopkins hoppenbrouwer hora horan hore horgan horn horne hornich hornig
horrocks horton hosae hosey hoskins houdijk hough houghton houlihan hourican hourigan hourihane
house houston howard howarth howe howell howells howley hoyos hoz huang hubbard huber hubert
huberts huddleston hudson huel huerta huertas huet huff huffman hughes huguet huhn huijben
huijbrechts huijs huijzing huisman hull huls hulshouts hulskes hulst humbert hume humphrey
humphreys humphries hunt hunter hurd hurley hurst hurtado hussain hussey hutchinson hutchison
hutton huurdeman huynh hyde hyland hyman hynes hänel häring höfig hölzenbecher höning hörle
hövel hübel iacobucci iacovelli iadanza iago iannelli iannotti iannucci iannuzzi ibarra ibañez
iborra ibáñez iglesia iglesias igoe imbert impastato infante infantino inglis ingoldsby ingram
iniesta innocenti interiano interminei interminelli inzaghi ioppi iqbal ireland iriarte irizarry
irvine irving irwin isern issac ivers ivory iyengar iyer izaguirre izquierdo iñiguez jaceps
jackman jackson jacob jacobi jacobi jäckel jacobs jacobson jacques jacquet jacquot jacuzzi jaggi
jaime jaimes jain james jameson jamieson jani jans jansdr janse jansen jansse janssen janssens
jara jaramillo jarvis jasso jaume jayaraman jaén jdotte jean jefferies jefferson jeffries jeggij
jekel jellyman jenkins jennings jensen jerez jerusalem jessel jesus jha jhaveri jilani jiles
jimenez jiménez jimínez jochems jockel joe johal johann johansen john johns johnson johnston
johnstone joly jones jonker jonkman joosten jopich jordan jordá jordán jorlink jorrisen joseph
joshi joubert jourdan jove jover jovinelli joyce juan juarez judd judge julien juliá julián
junck juncken jungfer junitz junk junken jurado jurrijens juvara juárez jáquez jáuregui jähn
jäkel jäntsch jódar jüttner kabus kadakia kade kaiser kakar kala kale kalita kalla kallen
kallert kalman kambs kamdar kamp kamper kanda kane kangley kannan kant kapadia kapoor kapur kar
kara karan karels karge kari karnik karpe karz kas kashyap kata kathagen kaufman kaul kaur
kavanagh kay keady kealey keally kealty kealy keane keaney keany keapock kearney kearns keary
keating keaveney keaveny keeffe keegan keehan keelan keeley keely keenaghan keenahan keenan
keeney keer keery keevers kehoe keightley keijser keijzer keith kelleher keller kelley kelly
keltenie kelvey kemp kendall kenlan kenlon kenna kenneally kennedy kennellan kennelly kenny
kensy kent keogan keogh keoghan keoghane keohan keohane keown kerin kerins kerkhof kerley kerlin
kermody kernan kerney kerr kerrigan kerrisk kerville kerwick ketel ketting keudel kevane keville
key keyes khalsa khan khanna khare khatri khosla khurana kibe kidd kidney kiely kieran kierane
kierans kiernan kilawee kilbane kilbride kilcoyne kilday kildea kilduff kilfoyle kilgallen
kilgallon kilhooly kilkenny killeen killer killilea killooly killoran killoughry kilmartin
kilmore kilroe kilroy kim kinaghan kinahan king kingston kiniry kinlan kinlen kinnane kinnear
kinnegan kinner kinnerk kinney kinnon kinny kinsella kirby kirk kirke kirpenstein kirwan kisman
kissane kitson kitzmann klapp kleibrink kleijse klein klemm klemt klerks kleybrink kline
klingelhöfer klomp jan kloppert klotz knapp knappe kneafsey knight knoers knowles knox knuf
kobelt koch koch ii koeman kof kohl kohli kok kolen kolster konda koning konings koret korpal
korsman korstman kort kortman koshy kosten koster kostolzin kota kothari krabbe kramer kranz
kraus krause kraushaar krebs krein kremer kreusel kriens krish krishna krishnamurthy krishnan
kroker kronenberg krueger kruns kruschwitz kuhl kuijpers kuilenburg kuiper kuipers kuit kulkarni
kumar kumer kunda kunen kurian kuruvilla kusch kwaadland kyne käster köhler köster kühnert
labado labbé laboy lacey lachmann lacombe lacroix lacy lad ladeck lafferty laffey laffray
lafleur lagarde lage lagerweij lago laguna lahey lahiffe lahy laine laing lal lala lall lalla
lally lalor lam lamas lamb lambe lambers lambert lamborghini lambregt lammas lamont lamore
lamotte lamy lancaster lancisi landa lande landers landon-lane landry landy lane lanfranchi lang
langan lange langern langevoort langlois lanigan lanka lankle lansink laporte lappin lara
lardner largan largey larkin laroche larrañaga larrea larsen larson lasa lastra lata lathrope
latier lattuada launay laureano laurenson laurent lavan lavell lavelle laverty lavery lavin law
lawless lawlor lawrence lawson le le briel le floch le gall le gallen le goff le grand
le guellec le gulcher le luc le marec le matelot le roux leach leacy leahy leal learmonth leary
leavey leblanc lebon lebreton lebrun lebrón leclerc leclercq lecomte leconte lecoq leddin leddon
leddy ledesma ledoux leduc ledwich ledwith lee leech leen leene leeney lees lefebvre lefort
lefèvre legendre legnante legrand legros leguit lehane lehmann leite leiva lejeune leland leleu
lelijveld lelièvre lemaire lemaître lemmens lemoine lemonnier lemus lenaghan leneghan lenehan
lenihan lennane lennon lenoir lensen leon leonard leonardi leoncavallo leone leonetti leopardi
lercari lerma lerner leroux leroy lesage leslie lester letellier lether letta lettiere levan
levesque levine levy lewis leyden leydon leyva leão león li liddane liddy liebelt lieshout
ligorio ligtvoet liguori lijn lillis lillo lima limón lin linares lincoln lind lindau lindner
lindsay lindsey linehan linke linnane linny linschoten linskey linton lippomano lips lira liston
littizzetto little liu liverotti livingston llabrés lladó llamas llano llanos lledó llobet
llopis llorens llorente lloret lloyd lluch lobato lobo loep loera loftus logan loghan logue
loiseau loke lollobrigida lombard lombardi lombardo lombroso lomeli lommert london lonen
lonergan long longan longhena longoria looney loos lopes lopez lopresti lorch lord lordan loreal
loredan lorenzo lorreijn losa losada losekann loughlin loughnane loughran loughrey loughry louis
loureiro lourenço louws lovato love lovett low lowe lowery lowney lowry loya loyal lozada lozano
luboch lucarelli lucas lucchesi lucciano lucena lucero lucey luciani lucid lucio lucitt luddy
ludovisi luevano lugo luitgardis van neustrië luján lumbreras luna lundon lunham lunney lunny
lupo luque luria lussu luster luthra lutterveld lutz luxardo luz luzi luís lyden lydon lynch
lynchechaun lynchehaun lyne lyng lynn lynskey lyon lyons lysaght léger lévy lévêque lópez löchel
löffler löwer lübs maas maaswinkel mac breen macadoo macaleavy macallen macaloon macanally
macart macarthur macauley macbreen macbride maccaffrey maccanelli maccann maccartan maccarthy
maccarville macclenaghan maccole maccomisky macconachy macconnaghy maccool maccormack maccurtin
macdermott macdevitt macdonagh macdonald macdonnell macdougall macdowell macdwyer macdyer mace
macedo macegan macelgunn macever macevoy macfadden macfall macfaull macgee macgeehan macgill
macgilligan macging macginley macginnitty macginnity macginty macgloin macglynn macgovern
macgreal macgroarty macguinness macgurk machado machale machenry machugh macias macinerney
macinnes mack mackay macken mackenna mackenzie mackeown mackesey mackevitt mackey mackle maclean
maclysaght macmahon macmillan macmonagle macmorrow macmullan macmullen macnabb macnaboe
macnaboola macnally macnamara macnamee macneela macneill macnelis macnulty macpherson macphilbin
macrea macshea macsweeney mactiernan macveagh macveigh macwilliams macías madan madden maddock
maddox maddy madera maderna maderno madigan madrid madrigal maestas maestre maffei magalhães
magan magann magar magauran magaña magee mageean magennis magennity maggioli magill maginn
maglio magnani magrassi magrath maguire mahajan mahal maharaj mahe mahedy maher mahieu mahmood
mahon mahoney mahony maia maillard maillet maillot majewski majorana majumdar malacarne
malaparte malatesta malave maldonado malenchini malhotra malipiero mall mallet malley mallick
mallien mallon malo malone maloney malowney malpighi mammen manacorda manahan mancebo mancini
mand manda mandal mander mane mangal mangan mangat mangel mangold mani manjón manley mann mannan
manne manning mannion mannix mannoia manolesso manrique mans mansell mansfield manso manson
mansveld mansvelt mantegazza mantegna manuel manunta manzanares manzano manzoni mara marangoni
marazzi marcacci marceron marchal marchand marco marconi marcos marenzio mares marfell margraf
marie marin marinetti marini marino marion mariscal mariño markey markham marks marley marnan
marques marquez marqués marren marrero marrinan marron marrone marroquín marry marsden marsh
marshall marsili martel martens marti martin martineau martinelli martinez martins martorell
martucci marty martyn martí martín martínez mary marzorati maréchal marí marín mas mascagni
mascareñas mascaró mascheroni mason maspero massa masse massey masson mastandrea master
masterson mastroianni mata matas mate mateo mateos mater mateu matheson mathews mathieu mathis
mathol mathurin matias matos mattarella matteotti matthews matthäi matías maughan maurice maury
maxwell may maya maye mayer maynard mayo mayol mayoral mayorga mays maza mazzacurati mazzanti
mazzeo mazzi mazzini mazzocchi mcadams mcaleavy mcaleenan mcaleer mcalinney mcalister mcaloon
mcalunny mcanally mcandrew mcanulty mcardle mcareavey mcatee mcateer mcauley mcauliffe mcaveigh
mcbreen mcbride mcbrien mccabe mccadam mccadden mccafferky mccafferty mccaffrey mccaffry
mccahill mccall mccallion mccallum mccann mccardle mccarney mccarra mccarron mccartan mccarte
mccarthy mccarty mccarville mccaughan mccaughey mccaul mccauley mccausland mccay mcclain mcclean
mcclelland mccloskey mcclure mccluskey mccolgan mccoll mccollam mccomiskey mcconaghey mcconaghy
mcconnell mcconnon mccooey mccool mccorkill mccorley mccormick mccorry mccourt mccoy mccracken
mccrann mccrea mccready mccreanor mccrory mccrossan mccrudden mccullagh mccullough mccumiskey
mccumisky mccurdy mccurley mccurtin mccusker mcdade mcdaeid mcdaid mcdaniel mcdermod mcdermott
mcdevitt mcdonagh mcdonald mcdougald mcdowall mcdowell mcdunphy mcdwyer mcdyer mcelduff mcelgunn
mcelhattin mcellistrim mcelnay mcelnea mcelroe mcelroy mcelwaine mcelwee mcenaney mceneaney
mcenry mcentaggart mcentee mcevaddy mcevilly mcevoy mcewen mcfadden mcfall mcfarland mcfarlane
mcfaull mcgahey mcgalligly mcgann mcgarraghy mcgarrigle mcgarry mcgarvey mcgauran mcgaw mcgeady
mcgee mcgeehan mcgeoghegan mcgeown mcgerr mcgettigan mcgettrick mcgill mcgillicuddy mcgilligan
mcgilly mcgilroy mcginley mcginnitty mcginty mcgirl mcgirr mcgivern mcglinchey mcglinchy mcgloin
mcglynn mcgoff mcgoldrick mcgonagle mcgough mcgourty mcgovern mcgowan mcgowern mcgrane mcgrath
mcgreal mcgregor mcgrenehan mcgroarty mcgrory mcgruddie mcgruddy mcguigan mcguill mcguinn
mcguinness mcguire mcguirk mcguirl mcgurk mchale mcharry mchenry mchugh mcildownie mcilroe
mcilroy mcilwee mcineely mcinerney mcinnes mcintosh mcintyre mcisaac mcivor mckaigue mckay mckee
mckeegan mckeever mckelvey mckendry mckeniry mckenna mckenny mckenzie mckeogh mckeon mckeown
mckernon mckevitt mckie mckiernan mckillop mcking mckinley mckinney mckinnon mcknight mclachlan
mclaughlin mclaverty mclean mcleer mcleese mcleigh mcleod mcloon mcloone mcloughlin mcmacken
mcmahon mcmanaway mcmanus mcmaster mcmenamin mcmillan mcmonagle mcmorrow mcmullen mcmurray
mcmurrough mcnabb mcnaboe mcnally mcnamara mcnamee mcnaughton mcnea mcnealy mcnee mcneely mcneil
mcneill mcnelis mcnevin mcnicholas mcnicholl mcnill mcnulty mcpartland mcpartlin mcpartlon
mcpherson mcphilbin mcphillips mcpolin mcquade mcquaid mcqueen mcquilkan mcquillan mcquillen
mcquin mcquinn mcrann mcready mcroarty mcrory mcshane mcsharry mcsheehy mcteague mcternan
mctiernan mctigue mcveagh mcveigh mcvicker mcvitty mcwalter meadows meads meaghan meagher meaney
meany meara mears medici medina medrano mee meehan meenaghan meenan meeres meeusen megaw mehigan
meijer meis meister mejia mejía melady meldon melendez melero melet melgar melia melican mellet
mellon mellor melo melody melton melville melvin meléndez memon mena menard menchaca mende
mendes mendez mendizábal mendonça mendoza mendès menendez mengolo mennea menon mens menton
mentzel menéndez meraz mercadante mercader mercado mercalli mercantini mercati mercer merchant
mercier mercks merckx meredith merino merisi merkx merle mernagh merrigan merritt merry mesa
mescall meskill metcalfe metella metz meucci meunier meyer meyers meza mezzetta miah micca
michael michaud michel michelangeli micheletti michiels michielsen middelkoop middlemiss
middleton mielcarek mies migliaccio miguel mijsberg milanesi miles miley milla millar millard
millea miller millet millican milligan mills millán milmo milne milroy miltenburg mimun miner
minhas miniati minihan minihane minogue mir miralles miramontes miranda mireles miró miscell
mishra misicher miskell misra missoni mistry mital mitchell mitra mitschke mittal mitter moan
moccia mocenigo modi modiano modigliani modugno mody moenen moensendijk moet moffatt moffit
mogherini mohan mohanty mohaupt moher mojica mol molegraaf molen molenaar moles molesini molina
moliner molins moll molloy moloney molyneux momberg monaco monaghan monagle monahan mondadori
mondaini mondragón monduzzi moneta mongan monicelli monk monks monnier monreal monroe monroy
montague montalbán montalcini montalti montalvo montanari montanariello montanelli montaña
montañez montaño monte montecchi monteiro montemayor montenegro montero montes montesano
montesinos montessori monteverdi montez montgomery monti montoya montserrat moody moon moone
mooney moore mora morabito moraes morahan morais moraleda morales moran morandi morandini
morante morar morata morcillo more moreau moreira morel morell morellato moreno morera moresi
moretti morgagni morgan moriarty morillo morin morlacchi morley mornane moroney morosini
morpurgo morricone morrin morris morrison morrissey morrocco morrow morse mortati mortimer
morton morucci morvan morán moschino mosemann moses mosley mosquera moss mota moulin mountain
moura moy moya moyer moylan moynihan mozart mudden mude mudgway mueller muijs muir mukherjee
mukhopadhyay mulcahy mulcair mulder mulders muldoon muldowney mulet mulgrave mulgrew mulhare
mulhern mulkerrin mullaghan mullaly mullan mullane mullaney mullany mullarkey mullen muller
mullery mulligan mullin mullins mullooly mullooney mulloughney mulloy mulqueen mulqueeny mulrain
mulrooney mulroy mulry mulryan mulvany mulvenna mulvey mulvihill mulvin mulvy munari munguía
muni munnelly munoz munro munroe munshi mur murae muratori murcia murdoch murialdo murillo
murnane murnin muro murphy murray murri murrihy murtagh murthy murty musatti muti mutti muñiz
muñoz myers myles mármol márquez mälzer méndez mínguez möchlichen múgica múñiz mühle mülichen
müller naccari nadal nadi nadig nadkarni nagar nagarajan nagi nagle nagy naidu naik nair nallon
nally nalty nanda nangle napolitano narain narang naranjo narasimhan narayan narayanan narula
narváez nary nascimento naser nash natarajan nath natt natta naughton nava navarrete navarria
navarro navas navone nayak nayar naylor nazareth nazario nea neal nealon neary nebot necci
nedermeijer nee needham neehan neelan neelin neenan negrete negrón neilan neilian neill neilson
neira nek neligan nelis nelson nerger nestor neto nette neureuther neuschäfer neuteboom
neuzerling nevado neves neveu neville nevin nevárez newman newton neylon nguyen nibali nicholas
nicholls nichols nicholson nicol nicolas nicolau nicoletti nicolini nicolucci nicolás nielsen
niemeier niermann nieto nieuwstraten nieves nievo nigam niggli nihoe nijman niland niscoromni
nitti nitto nixon niño noack noble nogueira noguera nogués nohlmans nolan nolcini nollee nolty
nonis noonan noone noordijk norbiato nordio nori noriega norman normand norris norry north
norton nosiglia notarbartolo novaes novais novak novaro novoa noël nugent nugnes nulty nunes
nunez nunne nuñez nyhan nájera núñez o'beirn o'beirne o'boyle o'brassil o'brazil o'brennan
o'brien o'brown o'bryan o'bryen o'byrne o'cadden o'cafferky o'callaghan o'carolan o'carroll
o'casey o'cassidy o'cleary o'clery o'connell o'connor o'crohan o'crowley o'curry o'daly o'dea
o'devanney o'devenny o'doherty o'donnell o'donoghue o'donohoe o'donovan o'dowd o'driscoll
o'duffy o'dwyer o'farrell o'farrelly o'flaherty o'flynn o'freil o'friel o'gallagher o'gara
o'goldrick o'gorman o'gowan o'grady o'growney o'hagan o'haire o'halloran o'hanlon o'hanrahan
o'hara o'hare o'haughey o'hea o'hegarty o'hehir o'herlihy o'hickey o'higgins o'hora o'houlihan
o'hurley o'hussey o'kane o'kearney o'keefe o'keeffe o'kelly o'kennedy o'kieve o'leary o'loan
o'looney o'loughlin o'loughlinn o'mahoney o'mahony o'malley o'mara o'meara o'mooney o'moore
o'mullan o'murnaghan o'neill o'nolan o'rafferty o'rahilly o'reardon o'regan o'reilly o'riordan
o'rooney o'rourke o'ruane o'ryan o'scannell o'shannon o'sharkey o'shaughnessy o'shea o'sheehan
o'sheil o'shiel o'sullivan o'sweeney o'tierney o'togher o'toole oak obrien ocampo ocasio ocaña
ochoa oconnell oconnor oda oderwald odescalchi odom odonnell oemencs oennen oestrovsky offredi
ojeda oliboni oliva olivares olivas oliveira oliver olivera oliveras olivetti olivier olivo
olivárez olivé oller ollivier olmedo olmo olmos olsen olson olthof olvera olykan om omma oneal
oneill onio onisto ontiveros oommen ooms oosterhek oosterhout oostveen opizzi opmans oquendo
orchard ordóñez orellana orengo orlando ormsby ornelas orosco orozco orr orsini orta ortega
ortese ortiz ortmann ortolani ortuño osborn osborne oscuro osorio ossani ossola osterhoudt
ostinelli osuna otero otte ottino otto oude heer ouwel ouwerkerk ovadia overdijk overeem
oversteeg owen owens oza ozuna pablo pabón pace pacelli pacetti pacheco pacillo pacomio padden
padilla padmanabhan padovano padrón paffrath paganini page pages pagliaro pagnotto pagès pai
paillet paiva pal palacio palacios palan palau palazzo pall palla palladio pallarès palma palman
palmer palmisano palomar palomares palombi palomino palomo paltrinieri palumbo panatta panchal
pandey pandit pandya paniagua panicucci pant pantoja panzera paoletti paolini paolucci papafava
papetti pardo paredes pareja parejo parekh parent pareto parikh parini paris parisi park parker
parkes parkin parkinson parks parmar parmer parmitano parpinel parra parri parrish parry parsa
parsons partida paruta pascal pascarella pascual pasman pasolini pasqua pasquier passalacqua
passchiers pastine pastoors pastor patberg patchett patel paten paterson pathak patil patiño
patla paton patrick patterson patton pau paul pausini pauwels pavanello pavarotti pavone pavón
payet payne paz pazos peacock peano pearce pearson pechel peck pederiva pedersen pedersoli
pedraza pedrazzini pedrero pedro pedroni pedrosa pedroza peeters peinado peiró peixoto pelayo
pellegrini pelletier pelli pellicer pellico peltier peláez pena pender pennetta pennington pepe
pera peral perales peralta peranda perano perck perea pereira perelló perera peres perez
pergande pergolesi peri perini perkins peron peronne perozzo perret perri perrier perrin perrono
perrot perry persico persijn pertile pertini peruzzi peters peterse petersen peterson petit
petitjean petralli petrassi petrocelli petrucci petrucelli petruzzi petty peukert peyton pezzali
peña peñalver peñas pham phayre phelan phelps philban philbin philippe phillips phillipsen pi
piacentini piane piazzi picard piccinni piccio pichardo pichon pickering pieper pierce pierre
pierson pieters pieters van der maes pietrangeli pigafetta piggott pignatti pigott pike pillai
pillay pimenta pina pinamonte pincherle pinder pineau pineda pinedo pingle pinheiro pinho
pinilla pininfarina pino pinto pintor piovani piquer pirandello pirelli pires pisacane pisani
pisano pisaroni pison pistoletto pittman pitts pizarro pizzamano pizzetti pizziol pizzo piña
piñeiro piñol pla plana planas plath platini plaza plover poerio pohl poirier pol polanco poland
polani polesel polizzi pollard polo pomares pombo pometta ponce poncelet ponci pons pont
pontecorvo ponti poole pope porcel porcellato porras porta porter portero portillo porto porzio
posada post postma potier potter potters pottier potts pou poulain powell power powers poza pozo
pozuelo pozzecco prabhakar prabhu prada pradhan prado praga prakash prasad prashad prat pratesi
prati prats pratt preciado preiß prendergast prentice preston prial price priego priest prieto
prince pringle prins prinsen pritchard priuli procacci procter proctor prodi proietti prouse
pruitt pruschke pruvost pryal prévost pucci puccini puente puerta puga pugh pugliese puglisi
puig pujadas pujol pulci pulido purcell puri purohit putz páez pärtzelt pérez pölitz quaide
qualter quasimodo queally queenane querini quero querol quesada quevedo quezada quigley quigney
quill quillinan quilty quin quinlan quinlivan quinn quinney quinny quintana quintanilla quintero
quirke quiroga quiroz quirós quiñones quiñónez rabbitte rackham rademaker radhakrishnan radisch
rael rafferty rafter raftery raftis raghavan rahilly rahman rai raight rails raimondi raj raja
rajagopal rajagopalan rajan raju raleigh ram rama ramachandran ramaker ramakrishnan raman
ramanathan ramaswamy ramazzotti ramesh ramirez ramis ramos ramsay ramsey ramírez ramón rana
randall randazzo randhawa randles randolph raney ranganathan rangel rao raol rapisardi rascón
rasmussen rastelli rastogi ratta rattan ratti rattigan rau raurica ravaglioli raval ravel ravi
rawley ray raya rayel raymond raynaud rayner razo rea read reade reader real reardon reavy
rebollo recer recers recio reddin reddy redi redican redmond redondo reed reen rees reese reeves
regalado regan rege regge regnier reguera rehorst reichmann reid reidy reig reijers reilly
reimes reina reinhardt reis reising rek remmers renard renaud renault rendón renehan renier
renner rensi rentería renzi requena respighi reséndez reuter revilla rey reyes reyna reynaud
reynell reynolds reynoldson reynoso rezende rhatigan rhattigan rhodes riba ribas ribeiro ribera
ribes ricart riccardi riccati ricci ricciardi rice rich richard richards richardson richey
richie richmond rickard rico ricolfi ridder riddle ridge riehl riem rienzo riera rietveld riggs
righi rigney rijcken rijks rijn rijntjes riley rinaldi rincón riney ring rinn riojas riordan
rios riou ripoll rippey riquelme risma rismondo ritacca ritchie ritter rius rivas rivera rivero
rivers rivière rizzo rizzoli roach roache roarke roarty robb robbins robbrechts bruijne roberson
robert roberts robertson robeson robin robinson robledo robles robson roca rocamora rocca
roccabonella rocha roche rocher rock roda rodarte rodden roddy roden rodgers rodrigo rodrigues
rodriguez rodrígez rodríguez rodríquez roe roero roessink roger rogers rogerson rogge rogner
rohan rohleder roht roig rojas rojo roland roldan roldán rolland rollins rolón roma romagnoli
roman romano romero romeu romijn romiti romo román ronan ronayne roncalli roodesteijn room
rooney roose roosenboom ropero roque ros rosa rosado rosales rosario rosas rose rosell roselló
rosemann rosenow rosiello roskoth rosmini ross rosselli rossellini rosselló rossetti rossi
rossini rossiter roth rotteveel roukes roura rourke rousseau roussel rousselet rousset rout
rouwenhorst rouwhorst roux rovira rowan rowe rowland rowlands rowley roy roybal royer royo rozas
ruane ruano rubben rubbia ruberto rubio rudden ruddy rudkins rudolph rueda ruelas ruffini
ruggeri ruggieri ruijs ruiz ruppersberger ruppert rush russell russo rust rusticucci rutherford
rutten ryan ryder ryle rynn rynne rädel rémy río ríos ródenas röhrdanz röhricht römer rörricht
saavedra sabater sabatini sabbatini sabharwal sachar sachdev sachdeva sacristán saez saffi sagar
sager sagese sagnelli sagredo saha sahni sahota saini sainz saiz sala salamanca salandra salas
salata salazar salcedo salcido saldaña saldivar sales salet salgado salgari salieri salinas
salmerón salmon salom salvador salvemini salvi salvini salvo salvà salz sam sama samaniego
samele sami sammon sampaio sampath samper sampson samra samson sanabria sanches sanchez sancho
sandal sanders sanderson sandhu sandi sandoval sane sanford sangha sanghvi sanguineti sani
sanjuan sankar sankaran sanmartín sanmiguel sans sansoni sant santacruz santamaria santamaría
santana santi santiago santillán santorio santoro santos sanudo sanz saors sarabia saraceno
saracino saraf saragat saran sarin sarkar sarma sarmiento sarna sarneel sarraf sarsfield sas
sastre sastry sathe satherley satriani satta sauceda saucedo sauer sauli saunders saura sauro
sauvage savage savant savorgnan sawhney sawyer saxena saxo sayers sbarbaro scaduto scalera
scalfaro scallan scallon scally scamarcio scandone scanlan scanlon scannell scaramucci scardino
scarfoglio scarlatti scarpa scarpetta scarponi schaaf schacht schaefer schagen schakelaar
scharroo schatteleijn scheel scheer scheffers scheibe schellekens schelvis schenk schenkel
scherms scheuermann schiaparelli schiavo schiavone schicchi schiffer schilt schinke schipper
schleich schlosser schmidt schmidtke schmiedecke schmiedt schmitt schneider schofield schokman
scholl scholten scholtz scholz schomber schotte schottin schouten schrant schrik schroeder
schroeff schuchhardt schulten schultz schulz schuster schuurmans schuylenborch schwartsbach
schwartz schwass schweitzer schwital schäfer schönland schüler scialpi scollan scott scotti
scotto scriven scullion scully scuylenborchs seally sealy searle sears sebastián seco sedano
seddio seery segarra segebahn segerson segersun segerszoen segni segovia segrè seguin segura
seguí sehgal seidel seifert seip sekhon sellers sem semitecolo sen sengupta sepúlveda serao
serlupi sermonti serna serra serraglio serrano serrato seshadri sestig seth sethi setrick setty
sevilla sevillano sexton seymour sforza sgalambro sgarbi sha shaffer shaffrey shah shailer shan
shanahan shand shankar shanker shanley shannon shanny sharaf sharkey sharma sharp sharpe sharry
shaughnessy shaw shea sheahan sheane sheedy sheehan sheehy sheeran sheerin sheil sheilds shelton
shenoy shepard shepherd sheppard shere sheridan sherlock sherman sherry sheth shetty shevlin
shiel shields shiels shine short shortt shroff shukla shupe sibal sibilia sidhu siering sierra
siffredi sigerson silk silke silva silveira silvestri simeoni simmon simmonds simmons simon
simonis simons simonsen simpson sims simó simões sinan sinclair singh singhal singleton sinha
sinisi sinnott siqueira sire sismondi sisneros sitters sixtus skally skeahan skeffington skehan
skelly skinner skivington slaetsdochter slagmolen slamon slater slattery slevin slingerland
sloan sloane slowey slyne small smart smeets smirnoff smit smith smits smullen smyth smythe snow
snyder soares sobrero sobrino soderini sodhi soffici sokolov sola solana solanki solano solari
soler solera solimena solis soliz sollima solomon solorio solorzano solsona solé solís som soman
somers sommaruga somoza soni sonnino sontag sood soolaghan soos soper soprano soranzo sordi
sorgatz soria soriano sorrentino sosa sotelo soto sousa southee souza sowman spaan spadafora
spain spallanzani spanevello spanhaak sparks spears speer speijer spelman spence spencer spenser
speri spier spies spieß spiker spillane spinelli spinola spreeuw sprong spruit spruyt squarcione
sraffa sridhar srinivas srinivasan srivastava stace stack stadelmann stafford staglieno stahr
stamrood stange stanley stanton stapleton stark staude staunton steckel steed steele
steenbakkers steenbeek steer stefanelli stein steinberg steinmeiern stenson stephens stephenson
sterkman stettyn steuer stevens stevenson steward stewart stey stichter stiebitz stiffel stinis
stoffel stoffelsz stoices stokes stoll stolze stone stook stoppani storey storladi story stout
stradivari strangio stratford stratton strawbridge street strickland striebitz strijker strik
stroh strong stuart stubbs stucchi stuivenberg stumpf suarez subramaniam subramanian sugrue
suijker sule sullivan summers summerville sundaram sunder supple sur sura sureda suresh suri
surian sutton suárez swaminathan swamy swanson sweeney sweeny swift swords sykes symons synnott
sá sáenz sáez sánchez säuberlich söding sölzer süßebier taboada tacchini taccola tafoya tafuri
taggart tagliafierro tailor tait tak takkelenburg talavera talbot taliani taliercio talwar
tamarit tamayo tamborini tamburello tamburi tamburini tamez tammerijn tamsma tandon taneja
tangney tanguy tank tanner tansey tanzini tapia tapp tara tarantini tarantino tarchetti tarpey
tartaglia tartini tasca tasso tassoni tata tate tavares taylor teahan tebaldi techer tedesco
tehan teixeira tejada tejeda tejedor tejera tejero telesio tella tello tena tencalla tenorio
ter waarbeek ternan terragni terrazas terrell terry terrón teruel terán tessier teunissen texier
textor thaker thakkar thakur thaman thanel thatcher the elder thibault thierry thies thom thomas
thompson thomson thornton thorpe thout tielemans tiepolo tiernan tierney tijerina tillmanno
timlin timmerman timmermans timoney timony tinney tins tintzmann tirabassi tirado tirie tiwari
tlustek toal tobin todd togher togliatti tognazzi tohall tolan toldo toledo tolentino tolin
tolosa tomas tomaselli tomasetti tomasini tomei tomlinson tommaseo toms tomás tomé toner
toninelli tonisto toolan toole toolin toolis tooman toomey toor torlonia tormay tormey tormo
tornatore toro torpey torralba torre torrecilla torrence torrens torrent torrents torres
torricelli torrijos toscani toscanini toselli tosi toso tosto totino totwiller toussaint tovar
townsend tozzi tozzo tracey tracy traetta trainor tran traore trapanese trapani trapp trask
travaglia travaglio travers traversa travia travis traynor treacy treanor trebbi treccani trejo
tremonti trenor trentin trentini tresoldi treves trevino trevisan trevisani treviño trezzini
trillini trillo trincavelli tripathi trivedi trobbiani troisi trombetta trommler tron tropea
trotta troy trub trubin trujillo trupiano trupp trussardi tröst trüb tschentscher tubridy tucker
tudela tuithof tully tuohey tuohy tur turati turchetta turchi turci turley turnbull turner
turpin turrini tutino tutty tuzzolino twidle twohey twohig twomey tyler tynan tyrrell täsche
téllez tórrez ubaldi udinese udinesi ugarte ughi uit de willigen uittenbosch ulibarri ullmann
ulloa ullrich ulrich underwood ungaretti uniacke uniaque unruoch hunerik upadhyay uphaus uphuis
uphus uppal urbina ureña uriarte uribe urrutia uría urías vaca vaessen vaidya vaillant vala
valadez valbuena valcárcel valderrama valdez valdivia valdés valencia valenciano valente
valentin valentine valentino valentín valenzuela valera valero valette valguarnera valier vall
valladares valle vallejo vallenduuk valles vallet valls vallée vallés valmarana valverde
van 't erve van 't houteveen van 't riet van 't wel van alenburg van allemanië van amstel
van arkel van arnsberg van asten van baalen van beaumont van beeck van beeck beeckmans van beek
van beieren van bentheim van bergen van berkel van berkum van bernicia van boulogne van boven
van bovene van bovenen van bragt van brenen van breugel van breukeleveen van breukelveen
van bruchem van brunswijk van bunschoten van buuren van clootwijck van cuijck van daal
van dagsburg van dalem van dam van de berg van de biesenbos van de biezenbos van de brink
van de coterlet van de darnau van de eerenbeemt van de elzas van de greef van de klashorst
van de kooij van de leemput van de noordmark van de pavert van de plas van de pol van de veen
van de velde van de velden van de ven van de wal van de water van de weterink van de wiel
van den assem van den berg van den bergh van den bosch van den brand van den brink van den broek
van den corput van den eerenbeemt van den eijssel van den henst van den heuvel van den hoek
van den nieuwenhuijsen van den nuwenhijsen van den nuwenhuijzen van den nuwenhuysen
van den nyeuwenhuysen van den oever van den pol van den velde van den velden van den wittenboer
van der avoirt van der berg van der brink van der dussen van der flaas van der heiden
van der heijden van der heyden van der hoeven van der horst van der kaay van der kint
van der klein van der klijn van der laan van der laar van der laarse van der lede van der leek
van der linden van der loo van der maath van der maes van der mast van der meer van der meulen
van der noot van der plas van der ploeg van der pluijm van der pol van der pouw van der sande
van der schuijt van der sloot van der smeede van der spaendonc van der spaendonck van der stael
van der stael de jonge van der steen van der strigt van der veen van der veiver van der velde
van der velden van der ven van der wal van der zijl van dijk van dillen van dokkum van dommelen
van dongen van dooren van doorn van drenthe van duivenvoorde van duvenvoirde van duyvenvoorde
van eck van egisheim van embden van emmelen van engeland van engelen van enschot van es van este
van evelingen van formbach van gastel van geenen van geest van geffen van gelder van gemert
van gent van ghoerle van gils van ginkel van ginneke van goerle van gorp van grinsven
van grondelle van haarlem van haeften van hagen van ham van hamaland van haspengouw
van haspengouw hesbaye van hemert van henegouwen van herstal van het heerenveen van heusden
van hoevel en van zwindrecht van holland van hostaden van hulten van jumiège van kasteelen
van kempen van klaarwater van kuijc van kuijc van malsen van kusen van laar van laarhoven
van landen van laon van leeuwen van leuven van liendert van limburg van loon van lucel van luin
van luinenburg van luxemburg van luyssel van maaren van maasgouw van mare van metz van mil
van mispelen van mook van munster van nederlotharingen van nes van nimwegen van noordeloos
van noort van northeim van nus van ochten van oirschot van olst van ommeren van ooste van oosten
van oostendorp van ooyen van opper-lotharingen van orleans van oudewater van parijs van poppel
van praagh van rheineck van riet van rijnsbergen van rijthoven van roijen van rooij van rossum
van saksen van salm van salmen van santen van schevinghuizen van schweinfurt van soest
van spreeuwel van spreuwel van straaten van stralen van suinvorde van susa van tours van tuijl
van veen van velthoven van velzen van venrooy van verdun van vermandois van vlaanderen van vliet
van voorhout van voorst van waas van wallaert van wassenaar van wel van wessex van westfalen
van wickerode van wijk van wijland van zwaben vance vandenbergh vanegas vang vanvitelli vaquero
vara varano varela vargas varghese varkey varma varty varughese vasa vasari vasconcelos vasquez
vasseur vastenhouw vattimo vaughan vaughn vaz vazquez veale vecellio vecoli veenendaal veenstra
vega vegt vela velasco velasquez velazquez velderman velez veltman veltroni velásquez velázquez
vendetti venditti vendrell venegas veneziano venier venkataraman venkatesh vento venturi vera
verbeeck verbeek verboom verbruggen vercelloni vercoe verda verdejo verdi verdier verdone
verdugo verduzco verdú verga vergara vergassola vergeer vergerio verhaar verhagen verharen
verheij verheuvel verhoeven verkade verma vermeulen verri versace verschuere verschut versluijs
vertoor vertooren vervoort verwoert vespa vespucci vezzali vi vial viana vianello vicens vicente
victory vidal vidoni vieira viera vierdag vig vigil vigliotti vignon vigorelli vila vilalta
vilanova vilaplana vilar villa villadicani villagómez villalba villalobos villalonga villalpando
villanueva villar villareal villarosa villarreal villaseñor villaverde villegas villena vincent
vink viola virgilio virk visconti visintini vismara visser viswanathan vittadello vitturi
vivaldi vives viviani vizcaíno viña viñas vogt vohra voisin volcke vollbrecht volta volterra
voortman vora vos vrancken vyas vásquez vázquez vélez véliz waardeloo wable wade wadhwa
wagenknecht wagenvoort waghorn wagle wagner waldron wali walia walker wall walla wallace waller
wallis walls walsh walshe walsteijn walter walters walton waltrade walderade wang ward ware
warmer warner warren warrior washington wason waters watkins watson watt watters watts waugh way
weaver webb webby weber webster weeks weeldenburg weerdenburg weever weihmann weijland weijters
weimer weinhage weinhold weir weiss weitzel weiß welch weldon welf weller wells wende wendt
wensen werdes wernecke werner wesack west westerbeek westerburg westermann weston wever weyland
weylant whalen wheeler whelan whelehan whitaker white whitehead whitehouse whitney whittaker
whitty whyte wiek wieloch wiggins wigman wijland wilcken wilcox wildschut wiley wilkerson
wilkins wilkinson willems willems van lier willemsen williams williamson willis wills wilmont
wilms wilmsen wilson wilton winkler winnrich winter winters wipstrik wirth wise wohlgemut wolf
wolfe wolffel wolfsdr wolfswinkel wolters wolzak wong wood woodard woods woodward woolley
wooning woudenberg woulfe wouters wouters van eijndhoven woutersz wratt wren wrenn wright wrynn
wu wulf wulff wunderink wutke wyatt wynne wähner yadav yang yates ybarra yoder yogi yohannan
york young yu yuste yáñez zaal zabala zabaleta zabarella zaccagnini zaccardo zacchia zacco
zacharia zachariah zaguri zahn zambrano zamengo zamora zamorani zamorano zampa zamudio zanazzo
zanichelli zanzi zapata zaragoza zarate zarlino zavala zayas zecchini zedillo zeemans zeffirelli
zelaya zeldenrust zepeda zetticci zevenboom zhang ziani zichichi ziegert zijlemans zijlmans
zimmer zimmerman zirme zito zobel zola zoppetti zoppetto zorbach zorrilla zuidweg zuijdveld
zuniga zurita zwart zwijsen zänker zúñiga águila álamo álvarez álvaro ángel ávalos ávila étienne
ó corra
""".split())

AMBIGUOUS: frozenset[str] = frozenset("""
amber april august austin autumn baker ball banks bell ben best bill bishop black brown bush
carry carter case chase christian church clear company cook cooper crystal daisy dale dan dawn
day de dean deep doctor don duke earl early else english faith fall field fisher floor foot ford
frank french gay german glass glen good grace gray green grey guy hall hill holly hope house
hunter iris ivy jack jade jasmine job jordan joy june key king lane law le lily little long lot
love low mark mason max may miller more noone norman north page parent paris park parker pierce
porter power price prince read real reed rice rich rivers rock room rose ruby sales sandy scott
short small stone story street strong summer taylor turner victoria violet walker wall ward way
west white winter wood young
""".split())

#: Common English words (Faker's lorem list + spaCy stop words): never a name on their own.
COMMON_WORDS: frozenset[str] = frozenset("""
a ability able about above accept according account across act action activity actually add
address admin administration admit adult affect after afterwards again against age agency agent
ago agree agreement ahead air al all allow almost alone along already also although always am
amber american among amongst amount an analysis and animal another answer any anyhow anyone
anything anyway anywhere appear apply approach april are area argue arm around arrive art
article artist as ask assume at attack attention attorney audience august austin author
authority autumn available avoid away baby back bad bag baker ball bank banks bar base be beat
beautiful became because become becomes becoming bed been before beforehand begin behavior
behind being believe bell below ben benefit beside besides best better between beyond big bill
billing billion bin bishop bit black blood blue board body book born both bottom box boy break
bring brook brother brown budget build building bush business but buy by ca call camera campaign
can candidate cannot capital car card care career carry carter case cash catch cause cell center
central century certain certainly chair challenge chance change character charge chase check
child choice choose christian church citizen city civil claim class clear clearly cliff close
coach cold collection college color commercial common community company compare computer con
concern condition conference congress consider consumer contain continue control cook cooper
cost could country couple course court cover create crime crystal cultural culture cup current
customer cut da daisy dale dallas dan dark data daughter dawn day de deal dean dear debate
decade decide decision deep defense degree del democrat democratic describe design despite
detail determine develop development di did difference different difficult dinner direction
director discover discuss discussion do doctor does dog doing don done door down draw dream
drive drop drug du due duke during each earl early east easy eat economic economy edge education
effect effort eight either el election eleven else elsewhere employee empty end energy english
enjoy enough enter entire environment environmental especially establish even evening event ever
every everybody everyone everything everywhere evidence exactly example except executive exist
expect experience expert explain eye face fact factor faith fall family far fast father fear
federal feel feeling few field fifteen fifty fight figure fill film final finally financial find
fine finish fire firm first fish fisher five floor fly focus follow food foot for force ford
foreign forest forget form former formerly forty forward four frank free french friday friend
from front full fund further future game garden gas gay general generation german get girl give
glass glen go goal good government grace gray great green grey ground group grow growth guess
gun guy had hair half hall hand happen happy hard has have he head health hear heart heavy hello
help hence her here hereafter hereby herein hereupon hers herself hi high hill him himself his
history hit hold holly home honey hope hospital hot hotel hour house how however huge human
hundred hunter husband i idea identify if image imagine impact important improve in include
including increase indeed indicate individual industry information inside instead institution
interest interesting international interview into investment involve iris irish is issue it item
its itself ivy jack jade jasmine job join jordan joy june just keep key kid kind king kitchen
know knowledge la lake land lane language large last late later latter latterly laugh law lawyer
lay le lead leader learn least leave left leg less let letter level life light like likely lily
line list listen little live local long look lose loss lot love low machine made magazine main
maintain major majority make man manage management manager many mark market marriage mason
material matter max may maybe me mean meanwhile measure media medical meet meeting member memory
mention message method middle might military miller million mind mine minute miss mission model
modern moment monday money month more moreover morning most mostly mother mouth move movement
movie mr mrs much music must my myself name namely nation national natural nature near nearly
necessary need neither network never nevertheless new news newspaper next nice night nine no
nobody none noone nor norman north not note nothing notice now nowhere number occur of off offer
office officer official often oil ok old on once one only onto open operation opportunity option
or order organization other others otherwise our ours ourselves out outside over own owner page
painting paper parent paris park parker part participant particular particularly partner party
pass past pattern pay peace pearl people per perform performance perhaps person personal phone
physical pick picture piece pierce place plan plant play player please pm point police policy
political politics poor popular population porter position positive possible power practice
prepare present president pressure pretty prevent price prince probably process produce product
production professional professor program project property protect prove provide public pull
purpose push put quality queen question quickly quite race radio raise range rate rather re
reach read ready real reality realize really reason receive recent recently recognize record red
reduce reed reflect regarding regards region relate relationship religious remain remember
report represent republican require research resource respond response responsibility rest
result return reveal rice rich right rise risk river rivers road rock role room rose ruby rule
run rusty safe sage sales same sandy save say scene school science scientist score scott sea
season seat second section security see seek seem seemed seeming seems sell send senior sense
series serious serve service set seven several shake share she short should shoulder show side
sign significant similar simple simply since sing single sister sit site situation six sixty
size skill skin sky small smile so social society soldier some somebody somehow someone
something sometime sometimes somewhere son song soon sort sound source south southern space
speak special specific speech spend sport spring staff stage stand standard star start state
statement station stay step sterling still stock stone stop store story strategy street strong
structure student study stuff style subject success successful such suddenly suffer suggest
summer sunday sunny support sure surface system table take talk task tax taylor teach teacher
team technology television tell ten tend term test than thank thanks that the their them
themselves then thence theory there thereafter thereby therefore therein thereupon these they
thing think third this those though thought thousand threat three through throughout throw thru
thus time to today together tonight too top total tough toward towards town trade traditional
training travel treat treatment tree trial trip trouble true truth try tuesday turn turner tv
twelve twenty two type under understand unit unless until up upon us use used using usually
value van various very via victoria view violet visit voice von vote wait walk walker wall want
war ward was watch water way we wear week weight well welsh were west western what whatever when
whence whenever where whereafter whereas whereby wherein whereupon wherever whether which while
white whither who whoever whole whom whose why wide wife will win wind window winter wish with
within without woman wonder wood word work worker world worry would write writer wrong yard yeah
year yes yet you young your yours yourself yourselves
""".split())
